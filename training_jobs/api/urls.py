from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from training_jobs.api.views import ReadinessView, TrainingExampleViewSet, TrainingJobViewSet

router = DefaultRouter()
router.register("examples", TrainingExampleViewSet, basename="training-example")
router.register("jobs", TrainingJobViewSet, basename="training-job")

urlpatterns: list[URLPattern | URLResolver] = [
    path("readiness/", ReadinessView.as_view(), name="training-readiness"),
    *router.urls,
]
