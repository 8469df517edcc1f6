from django.contrib import admin

from assistant.admin.ask import ask_link_install

from . import knowledge, registry, threads  # noqa: F401

ask_link_install(admin.site)
