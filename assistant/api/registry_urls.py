from django.urls import path

from assistant.api import registry

app_name = "model-registry"

urlpatterns = [
    path("", registry.ModelVersionListView.as_view(), name="list"),
    path("rollback/", registry.ModelVersionRollbackView.as_view(), name="rollback"),
    path("<int:pk>/", registry.ModelVersionDetailView.as_view(), name="detail"),
    path("<int:pk>/activate/", registry.ModelVersionActivateView.as_view(), name="activate"),
]
