"""The chat service: plan -> tools or retrieval -> prompt -> LLM -> stream -> stored message."""
