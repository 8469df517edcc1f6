from tests.reliability.fixtures import inference_worker_on, private_broker, small_practice

__all__ = ["inference_worker_on", "private_broker", "small_practice"]
