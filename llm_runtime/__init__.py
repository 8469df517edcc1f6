"""What the ask path (`assistant`) and the teach path (`training_jobs`) both need to run a
language model: prompt formats, the llama.cpp loader, hardware facts and GGUF metadata.

No Django models live here and nothing here imports either app, so both can depend on it
without depending on each other.
"""
