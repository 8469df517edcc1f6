"""Ingest the shipped knowledge corpus (or given files/folders) and the catalogue's products."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

CORPUS_DIR = Path(__file__).resolve().parents[2] / "knowledge_corpus"


class Command(BaseCommand):
    help = "Ingest .md/.txt/.pdf files into the knowledge base; unchanged documents are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help=f"files or folders (default: {CORPUS_DIR})")
        parser.add_argument(
            "--async", dest="use_task", action="store_true", help="embed in Celery tasks instead of in this process"
        )
        parser.add_argument("--no-products", action="store_true", help="skip syncing the catalogue's products")

    def handle(self, *args: Any, **options: Any) -> None:
        from assistant.knowledge.extraction import SOURCE_TYPES_BY_SUFFIX, extract_text
        from assistant.knowledge.products import product_documents_sync_all
        from assistant.knowledge.services import knowledge_document_ingest

        paths = [Path(p) for p in options["paths"]] or [CORPUS_DIR]
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SOURCE_TYPES_BY_SUFFIX))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder")
        embed = "task" if options["use_task"] else "now"
        started = time.perf_counter()
        changed = chunks = 0
        for file in files:
            try:
                source_type, text = extract_text(filename=file.name, data=file.read_bytes())
            except ValidationError as exc:
                raise CommandError(f"{file}: {'; '.join(exc.messages)}") from exc
            result = knowledge_document_ingest(
                content=text,
                slug=file.stem,
                title="" if source_type == "markdown" else file.stem.replace("-", " ").capitalize(),
                source_type=source_type,
                source_name=file.name,
                embed=embed,
            )
            if result.changed:
                changed += 1
                chunks += result.document.chunks_total
                self.stdout.write(f"  {file.name}: {result.document.chunks_total} chunks")
        products = 0 if options["no_products"] else product_documents_sync_all(embed=embed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Knowledge: {len(files)} files, {changed} (re)ingested with {chunks} chunks, "
                f"{products} product descriptions updated, in {time.perf_counter() - started:.1f} s."
            )
        )
