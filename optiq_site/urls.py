from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from optiq_site import health

admin.site.site_header = "OptiQ"
admin.site.site_title = "OptiQ"
admin.site.index_title = "Practice administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("practice.api.urls")),
    path("api/v1/assistant/", include("assistant.api.urls")),
    path("api/v1/models/", include("assistant.api.registry_urls")),
    path("api/v1/training/", include("training_jobs.api.urls")),
    path("v1/", include("assistant.openai_api.urls")),
    path("", include("assistant.monitoring.urls")),
]
