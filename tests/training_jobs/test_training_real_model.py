"""End to end with the real default model (Gemma 3 270M): about 2 to 2.5 minutes on 2 cores, a minute more when it is the run's first test to convert the base (tests/conftest.py shares the conversion)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_jobs.models import TrainingJob
from training_jobs.services import training_examples_load_shipped, training_job_create, training_job_deploy
from training_jobs.tasks import training_job_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_fine_tuning_the_default_model_lowers_eval_loss_and_deploys_with_its_adapter(tmp_path):
    from assistant.llm.default_model import DEFAULT_CHAT_FORMAT, ensure_default_model
    from assistant.registry.selectors import active_model
    from assistant.registry.services import model_version_register

    base = model_version_register(
        name="gemma-base", path=ensure_default_model(), chat_format=DEFAULT_CHAT_FORMAT, activate=True
    )
    training_examples_load_shipped()
    job = training_job_create(
        base_model=base,
        hyperparameters={"max_steps": 6, "learning_rate": 5e-4},
        merge_quantized=True,
        enqueue=False,
        output_dir=str(tmp_path / "job"),
    )

    assert training_job_run(job.pk) == "succeeded"

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.evaluation["fine_tuned_eval_loss"] < job.evaluation["base_eval_loss"]
    assert any(s["base"] != s["fine_tuned"] for s in job.evaluation["side_by_side"])
    assert Path(job.artifacts["merged_gguf"]).is_file()
    version = training_job_deploy(job=job)
    assert active_model(role="chat") == version and version.lora_path
