"""The fine-tuning pipeline: data formatting, model loading, the LoRA loop, export, evaluation.

Heavy imports (torch, transformers, peft) live in these modules; import them only where a job
actually trains.
"""
