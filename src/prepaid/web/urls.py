"""URLs of the operator web UI (namespace ``web``)."""

from django.urls import path

from prepaid.web.views import (
    accounts,
    auth,
    cards,
    customers,
    home,
    operators,
    prices,
    reader,
    simulator,
    vending,
)

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("favicon.ico", home.favicon, name="favicon"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("password/", auth.password_view, name="password"),
    path("language/", auth.language_view, name="language"),
    # 账户管理
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/create/", accounts.account_create, name="account_create"),
    path("accounts/<int:account_id>/created/", accounts.account_created, name="account_created"),
    path("accounts/<int:account_id>/modify/", accounts.account_modify, name="account_modify"),
    path("accounts/<int:account_id>/delete/", accounts.account_delete, name="account_delete"),
    path("cards/", cards.card_making, name="cards"),
    # 价格管理
    path("prices/", prices.price_list, name="prices"),
    path("prices/add/", prices.price_add, name="price_add"),
    path("prices/<int:price_id>/adjust/", prices.price_adjust, name="price_adjust"),
    path("prices/<int:price_id>/modify/", prices.price_modify, name="price_modify"),
    path("prices/<int:price_id>/delete/", prices.price_delete, name="price_delete"),
    # 用户管理
    path("customers/", customers.find, name="customers"),
    path("customers/register/", customers.register, name="customer_register"),
    path("customers/<str:user_number>/", customers.show, name="customer"),
    path("customers/<str:user_number>/modify/", customers.modify, name="customer_modify"),
    # 充值管理
    path("vending/", vending.overview, name="vending"),
    path("vending/open/", vending.open_account, name="open"),
    path("vending/sell/", vending.sell, name="sell"),
    path("vending/correct/", vending.correct, name="correct"),
    path("vending/reissue/", vending.reissue, name="reissue"),
    path("vending/reissue/<str:user_number>/<str:serial>/", vending.reissued, name="reissued"),
    path(
        "vending/reissues/<int:reissue_id>/print/",
        vending.reissue_receipt_print,
        name="reissue_receipt_print",
    ),
    path(
        "vending/reissues/<int:reissue_id>/receipt/<int:copy>/",
        vending.reissue_receipt,
        name="reissue_receipt",
    ),
    path("vending/meter-change/", vending.meter_change, name="meter_change"),
    path("vending/quote/", vending.quote, name="quote"),
    path("vending/purchases/<int:purchase_id>/", vending.purchase_done, name="purchase"),
    path("vending/purchases/<int:purchase_id>/print/", vending.receipt_print, name="receipt_print"),
    path(
        "vending/purchases/<int:purchase_id>/receipt/<int:copy>/", vending.receipt, name="receipt"
    ),
    # the card reader panel
    path("reader/", reader.panel, name="reader"),
    path("reader/insert/", reader.insert, name="reader_insert"),
    path("reader/eject/", reader.eject, name="reader_eject"),
    path("reader/blank/", reader.blank, name="reader_blank"),
    path("reader/format/", reader.format_card, name="reader_format"),
    path("reader/record-reading/", reader.record_reading, name="reader_record_reading"),
    # the meter simulator
    path("simulator/", simulator.meter_list, name="simulator"),
    path("simulator/<str:meter_id>/", simulator.meter_detail, name="meter"),
    path("simulator/<str:meter_id>/swipe/", simulator.meter_swipe, name="meter_swipe"),
    path("simulator/<str:meter_id>/use/", simulator.meter_use, name="meter_use"),
    # operators (admin); a name may hold any character but white space, “/” too (the CLI
    # adds operators as well): <path:…> so that every name has its URLs
    path("operators/", operators.operator_list, name="operators"),
    path(
        "operators/<path:username>/password/", operators.operator_password, name="operator_password"
    ),
    path("operators/<path:username>/disable/", operators.operator_disable, name="operator_disable"),
    path("operators/<path:username>/enable/", operators.operator_enable, name="operator_enable"),
]
