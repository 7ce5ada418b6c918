from django.urls import path

from . import views

app_name = "hub"
urlpatterns = [
    # Supplier side
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/products/new/", views.product_create, name="product_create"),
    path("catalog/products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("catalog/categories/", views.categories, name="categories"),
    path("catalog/categories/<int:pk>/edit/", views.category_edit, name="category_edit"),
    path("catalog/price-lists/", views.price_lists, name="price_lists"),
    path("catalog/price-lists/<int:pk>/", views.price_list, name="price_list"),
    path("catalog/price-lists/<int:pk>/items/", views.price_list_item_set,
         name="price_list_item_set"),
    path("catalog/price-lists/<int:pk>/items/<int:item_pk>/delete/",
         views.price_list_item_delete, name="price_list_item_delete"),
    path("catalog/customers/", views.customers, name="customers"),
    path("catalog/customers/new/", views.customer_create, name="customer_create"),
    path("catalog/customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    # Buyer side
    path("shop/", views.shop, name="shop"),
    path("shop/<int:supplier_id>/", views.shop_catalog, name="shop_catalog"),
]
