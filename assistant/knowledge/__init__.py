"""The knowledge base: chunking, ingestion, embedding, retrieval and the catalogue sync."""
