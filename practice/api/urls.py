from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from practice.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("patients", views.PatientViewSet, basename="patient")
router.register("spectacle-prescriptions", views.SpectaclePrescriptionViewSet, basename="spectacle-prescription")
router.register(
    "contact-lens-prescriptions", views.ContactLensPrescriptionViewSet, basename="contact-lens-prescription"
)
router.register("products", views.ProductViewSet, basename="product")
router.register("stock-movements", views.StockMovementViewSet, basename="stock-movement")
router.register("sales", views.SaleViewSet, basename="sale")
router.register("lab-jobs", views.LabJobViewSet, basename="lab-job")
router.register("recalls", views.RecallViewSet, basename="recall")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/sales-summary/", views.SalesSummaryView.as_view(), name="report-sales-summary"),
    path("reports/top-products/", views.TopProductsView.as_view(), name="report-top-products"),
    *router.urls,
]
