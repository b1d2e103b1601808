from django.urls import path

from annotate.catalog import views

urlpatterns = [
    path("api/kinds", views.api_kinds, name="catalog-api-kinds"),
    path("api/search", views.api_search, name="catalog-api-search"),
    path("api/suggest", views.api_suggest, name="catalog-api-suggest"),
    path("mine/", views.mine_page, name="catalog-mine"),
    path("api/mine", views.api_mine, name="catalog-api-mine"),
    path("api/mine/apply", views.api_mine_apply, name="catalog-api-mine-apply"),
    path("api/mine/batches", views.api_mine_batches, name="catalog-api-mine-batches"),
    path("api/mine/batches/<int:batch_id>/undo", views.api_mine_undo, name="catalog-api-mine-undo"),
]
