from __future__ import annotations

import factory

from training_jobs.models import TrainingExample
from training_jobs.services import content_hash


class TrainingExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingExample

    prompt = factory.Sequence(lambda n: f"Question {n}: how often should I have an eye test?")
    completion = factory.Sequence(
        lambda n: f"Answer {n}: every two years for most adults, or as your optometrist advises."
    )
    category = "practice-procedures"
    status = TrainingExample.Status.APPROVED
    content_hash = factory.LazyAttribute(
        lambda o: content_hash(prompt=o.prompt, completion=o.completion, system_prompt=o.system_prompt)
    )
    system_prompt = ""
