from django.urls import path

from . import order_views, return_views, views

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
    # Stock (supplier)
    path("catalog/warehouses/", order_views.warehouses, name="warehouses"),
    path("catalog/stock/", order_views.stock_list, name="stock"),
    path("catalog/stock/low/", order_views.stock_low, name="stock_low"),
    path("catalog/stock/adjust/", order_views.stock_adjust, name="stock_adjust"),
    # Cart (buyer)
    path("shop/<int:supplier_id>/cart/", order_views.cart_add, name="cart_add"),
    path("shop/<int:supplier_id>/quick-order/", order_views.quick_order, name="quick_order"),
    path("shop/<int:supplier_id>/checkout/", order_views.cart_checkout, name="cart_checkout"),
    path("cart/", order_views.cart, name="cart"),
    path("cart/checkout/", order_views.cart_checkout_all, name="cart_checkout_all"),
    # Orders (both sides)
    path("orders/", order_views.order_list, name="orders"),
    path("orders/<int:pk>/", order_views.order_detail, name="order_detail"),
    path("orders/<int:pk>/action/", order_views.order_action, name="order_action"),
    path("orders/<int:pk>/ship/", order_views.order_ship, name="order_ship"),
    path("orders/<int:pk>/reorder/", order_views.order_reorder, name="order_reorder"),
    path("orders/new/", order_views.order_enter, name="order_enter"),
    path("settings/", order_views.ordering_settings, name="ordering_settings"),
    # Returns (both sides)
    path("orders/<int:pk>/return/", return_views.return_create, name="return_create"),
    path("returns/", return_views.return_list, name="returns"),
    path("returns/export.csv", return_views.return_export, name="return_export"),
    path("returns/<int:pk>/", return_views.return_detail, name="return_detail"),
    path("returns/<int:pk>/action/", return_views.return_action, name="return_action"),
    path("returns/<int:pk>/receive/", return_views.return_receive, name="return_receive"),
]
