from django.core.management import call_command

from assistant.eval.retrieval import knowledge_questions, retrieval_recall
from assistant.models import KnowledgeDocument


def test_shipped_corpus_ingests_fully_and_retrieval_recall_at_5_is_at_least_0_9(db):
    call_command("ingest_knowledge", "--no-products", verbosity=0)
    documents = KnowledgeDocument.objects.all()
    assert documents.count() >= 40
    assert set(documents.values_list("status", flat=True)) == {"ready"}
    assert all(d.progress == 100 for d in documents)
    questions = knowledge_questions()
    assert len(questions) >= 60
    assert {q["article"] for q in questions} <= set(documents.values_list("slug", flat=True))

    report = retrieval_recall(k=5)
    assert report.recall >= 0.9, report.misses


def test_reingesting_unchanged_corpus_skips_every_document(db):
    from assistant.knowledge.services import knowledge_document_ingest

    first = knowledge_document_ingest(content="# Lens tints\n\nTints reduce glare.", slug="tints", embed="now")
    again = knowledge_document_ingest(content="# Lens tints\n\nTints reduce glare.", slug="tints", embed="now")
    assert first.changed and not again.changed
    changed = knowledge_document_ingest(
        content="# Lens tints\n\nTints reduce glare.\n\n## Category 4\n\nNot for driving.", slug="tints", embed="now"
    )
    assert changed.changed
    document = changed.document
    assert document.chunks.count() == document.chunks_total == 2
    assert document.chunks.filter(embedding__isnull=True).count() == 0
    assert list(document.chunks.values_list("heading", flat=True)) == ["Lens tints", "Lens tints > Category 4"]
