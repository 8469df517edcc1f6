from django.urls import path

from assistant.monitoring import views

urlpatterns = [
    path("metrics", views.prometheus_metrics, name="metrics"),
]
