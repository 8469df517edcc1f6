import pytest
from django.core.management import call_command

from assistant.eval.retrieval import knowledge_questions, retrieval_recall
from assistant.models import KnowledgeDocument


@pytest.fixture
def corpus(db):
    call_command("ingest_knowledge", "--no-products", verbosity=0)


def test_the_shipped_corpus_is_large_enough_and_fully_embedded(corpus):
    documents = KnowledgeDocument.objects.all()
    assert documents.count() >= 40
    assert set(documents.values_list("status", flat=True)) == {"ready"}
    assert all(d.progress == 100 for d in documents)
    slugs = set(documents.values_list("slug", flat=True))
    questions = knowledge_questions()
    assert len(questions) >= 60
    assert {q["article"] for q in questions} <= slugs


def test_retrieval_recall_at_5_on_the_shipped_questions_is_at_least_0_9(corpus):
    report = retrieval_recall(k=5)
    print(f"recall@5 = {report.recall:.3f} ({report.hits}/{report.total})")
    for question, article, found in report.misses:
        print("MISS", article, "|", question, "->", found)
    assert report.recall >= 0.9
