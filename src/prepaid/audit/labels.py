"""How the audit log (审计日志) names what it records, in the operator's language.

Every action code ``log_action`` is called with has a label here, named as the manual's
menus name the use case (销售, 交班, 换表卡调整 …); a test reads the code for every call and
fails on a code without one. The objects are named as the office names them (购买 12,
用户 00000001), and the fields of the product's objects as its forms name them. The codes
and the raw values stay in the log and in its JSON: the labels are for people.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from prepaid.reports.labels import (
    CARD_STATUS_LABELS,
    CARD_TYPE_LABELS,
    PAYMENT_LABELS,
    PURCHASE_KIND_LABELS,
    PURCHASE_STATUS_LABELS,
    TOOL_CARD_LABELS,
    L,
    Label,
)

ACTION_LABELS: dict[str, Label] = {
    # 账户管理, 价格管理
    "account.create": L(gettext_noop("Create account"), "创建账户"),
    "account.modify": L(gettext_noop("Modify account"), "修改账户"),
    "account.delete": L(gettext_noop("Delete account"), "删除账户"),
    "price.create": L(gettext_noop("Add price"), "添加价格"),
    "price.adjust": L(gettext_noop("Adjust price"), "调整价格"),
    "price.modify": L(gettext_noop("Modify price"), "修改价格"),
    "price.delete": L(gettext_noop("Delete price"), "删除价格"),
    # 用户管理
    "customer.register": L(gettext_noop("Register customer"), "注册用户信息"),
    "customer.modify": L(gettext_noop("Modify customer"), "修改用户信息"),
    # 充值管理: a purchase is begun (the card about to be written), completed or voided
    "customer_account.open": L(gettext_noop("Open account"), "开户"),
    "customer_account.price": L(gettext_noop("Change of price type"), "更改价格类型"),
    "sale.begin": L(gettext_noop("Sale begun"), "销售（开始写卡）"),
    "sale.complete": L(gettext_noop("Sale"), "销售"),
    "sale.void": L(gettext_noop("Sale voided"), "销售作废"),
    "correction.begin": L(gettext_noop("Correction begun"), "充值修改（开始写卡）"),
    "correction.complete": L(gettext_noop("Correction"), "充值修改"),
    "correction.void": L(gettext_noop("Correction voided"), "充值修改作废"),
    "transfer.begin": L(gettext_noop("Meter change begun"), "换表卡调整（开始写卡）"),
    "transfer.complete": L(gettext_noop("Meter change"), "换表卡调整"),
    "transfer.void": L(gettext_noop("Meter change voided"), "换表卡调整作废"),
    "meter_change.record": L(gettext_noop("Meter change record"), "换表记录"),
    "ledger.sale": L(gettext_noop("Ledger: sale"), "记账：销售"),
    "ledger.reversal": L(gettext_noop("Ledger: reversal"), "记账：冲正"),
    "ledger.fee": L(gettext_noop("Ledger: fee"), "记账：费用"),
    "ledger.transfer": L(gettext_noop("Ledger: meter-change transfer"), "记账：换表转移"),
    "receipt.print": L(gettext_noop("Print receipt"), "打印收据"),
    # cards: 补卡 revokes the old card and issues the new one; 卡片制作, 卡片回收
    "card.issue": L(gettext_noop("Issue card"), "发卡"),
    "card.revoke": L(gettext_noop("Revoke card (reissue)"), "作废旧卡（补卡）"),
    "card.restore": L(gettext_noop("Restore card"), "恢复卡片"),
    "card.format": L(gettext_noop("Make a new card"), "制作新卡"),
    "card.tool_card": L(gettext_noop("Make tool card"), "制作工具卡"),
    "card.recycle": L(gettext_noop("Recycle card"), "卡片回收"),
    "card.recycle_user": L(gettext_noop("Recycle user card"), "回收用户卡"),
    "write_back.observe": L(gettext_noop("Meter write-back read"), "读取表计回写"),
    "check_reading.record": L(
        gettext_noop("Record meter reading (check card)"), "记录表计读数（检查卡）"
    ),
    # 交班, 操作员
    "shift.open": L(gettext_noop("Shift opened"), "开班"),
    "shift.close": L(gettext_noop("Shift closed"), "交班"),
    "operator.login": L(gettext_noop("Login"), "登录"),
    "operator.login_failed": L(gettext_noop("Failed login"), "登录失败"),
    "operator.lock": L(gettext_noop("Operator locked"), "操作员锁定"),
    "operator.login_failures_cleared": L(gettext_noop("Failed logins cleared"), "清除登录失败次数"),
    "operator.create": L(gettext_noop("Add operator"), "添加操作员"),
    "operator.password": L(gettext_noop("Set password"), "设置密码"),
    "operator.enable": L(gettext_noop("Enable operator"), "启用操作员"),
    "operator.disable": L(gettext_noop("Disable operator"), "停用操作员"),
    "operator.language": L(gettext_noop("Change language"), "切换语言"),
    # the site
    "suspicious.rules": L(gettext_noop("Suspicious-customer rules"), "可疑用户规则"),
    "site_key.record": L(gettext_noop("Site key recorded"), "记录站点密钥"),
    "site.backup": L(gettext_noop("Backup"), "备份"),
    "site.restore": L(gettext_noop("Restore from a backup"), "恢复备份"),
    "aggregates.rebuild": L(gettext_noop("Report totals counted again"), "重新统计报表"),
    "office.time_zone.record": L(gettext_noop("Office time zone recorded"), "记录营业厅时区"),
    "office.time_zone": L(gettext_noop("Change office time zone"), "更改营业厅时区"),
}

# An entry's object type (the model's label) → what the office calls one.
OBJECT_LABELS: dict[str, Label] = {
    "accounts.account": L(gettext_noop("Account"), "账户"),
    "accounts.price": L(gettext_noop("Price"), "价格"),
    "customers.customer": L(gettext_noop("Customer"), "用户"),
    "vending.customeraccount": L(gettext_noop("Customer account"), "用户账户"),
    "vending.customercard": L(gettext_noop("User card"), "用户卡"),
    "vending.purchase": L(gettext_noop("Purchase"), "购买"),
    "vending.ledgerentry": L(gettext_noop("Ledger entry"), "流水"),
    "vending.meterchange": L(gettext_noop("Meter change record"), "换表记录"),
    "vending.shift": L(gettext_noop("Shift"), "班次"),
    "cards.cardoperation": L(gettext_noop("Card operation"), "卡片操作"),
    "cards.sitekey": L(gettext_noop("Site key"), "站点密钥"),
    "operators.operator": L(gettext_noop("Operator"), "操作员"),
    "reports.suspiciousrules": L(gettext_noop("Suspicious-customer rules"), "可疑用户规则"),
    "reports.aggregatestate": L(gettext_noop("Report totals"), "报表统计"),
    "reports.officetimezone": L(gettext_noop("Office time zone"), "营业厅时区"),
    "site": L(gettext_noop("Site"), "站点"),
}

# The fields of the product's objects, as their forms and reports name them.
FIELD_LABELS: dict[str, Label] = {
    "name": L(gettext_noop("Name"), "名称"),
    "meter_type": L(gettext_noop("Meter type"), "仪表类型"),
    "sub_meter": L(gettext_noop("Sub-meter number"), "子表号"),
    "limit": L(gettext_noop("Purchase limit"), "限购量"),
    "prestore": L(gettext_noop("Pre-stored quantity"), "预存量"),
    "alarm": L(gettext_noop("Alarm level"), "报警量"),
    "overdraft": L(gettext_noop("Overdraft"), "透支量"),
    "maintenance_code": L(gettext_noop("Maintenance code"), "系统维护码"),
    "account": L(gettext_noop("Account"), "账户"),
    "price": L(gettext_noop("Price type"), "价格类型"),
    "remarks": L(gettext_noop("Remarks"), "备注"),
    "version": L(gettext_noop("Price version"), "价格版本"),
    "user_number": L(gettext_noop("User number"), "用户编号"),
    "phone": L(gettext_noop("Phone"), "联系电话"),
    "address": L(gettext_noop("Address"), "地址"),
    "id_number": L(gettext_noop("ID number"), "证件号码"),
    "customer": L(gettext_noop("Customer"), "用户"),
    "purchase_id": L(gettext_noop("Purchase no."), "购买号"),
    "serial": L(gettext_noop("Purchase serial"), "购买序号"),
    "kind": L(gettext_noop("Kind"), "类型"),
    "status": L(gettext_noop("Status"), "状态"),
    "quantity": L(gettext_noop("Quantity"), "充值量"),
    "amount": L(gettext_noop("Amount"), "金额"),
    "tendered": L(gettext_noop("Tendered"), "实收"),
    "change": L(gettext_noop("Change"), "找零"),
    "price_version": L(gettext_noop("Price version"), "价格版本"),
    "tiers": L(gettext_noop("Tiers"), "阶梯"),
    "payment": L(gettext_noop("Payment method"), "支付方式"),
    "card_serial": L(gettext_noop("Card serial"), "卡号"),
    "generation": L(gettext_noop("Card generation"), "卡片代次"),
    "corrects": L(gettext_noop("Corrects purchase"), "修改的购买序号"),
    "corrects_amount": L(gettext_noop("Amount corrected"), "原金额"),
    "difference": L(gettext_noop("Difference"), "差额"),
    "station": L(gettext_noop("Station"), "工作站"),
    "closed_at": L(gettext_noop("Closed at"), "交班时间"),
    "settlement": L(gettext_noop("Settlement no."), "结算号"),
    "entries": L(gettext_noop("Entries"), "笔数"),
    "takings": L(gettext_noop("Takings"), "收款合计"),
    "expected_cash": L(gettext_noop("Expected cash"), "应收现金"),
    "counted_cash": L(gettext_noop("Counted cash"), "实收现金"),
    "variance": L(gettext_noop("Variance"), "差额"),
    "username": L(gettext_noop("Operator"), "操作员"),
    "role": L(gettext_noop("Role"), "角色"),
    "is_active": L(gettext_noop("Enabled"), "启用"),
    "must_change_password": L(gettext_noop("Must change password"), "须修改密码"),
    "last_login": L(gettext_noop("Last login"), "上次登录"),
    "failed_logins": L(gettext_noop("Failed logins"), "登录失败次数"),
    "locked_until": L(gettext_noop("Locked until"), "锁定至"),
    "language": L(gettext_noop("Language"), "语言"),
    "type": L(gettext_noop("Card type"), "卡类型"),
    "tool_type": L(gettext_noop("Tool card"), "工具卡"),
    "previous": L(gettext_noop("Previous card type"), "原卡片类型"),
    "previous_serial": L(gettext_noop("Previous card serial"), "原卡号"),
    "remaining": L(gettext_noop("Remaining quantity"), "用户剩余量"),
    "prestore_deducted": L(gettext_noop("Pre-stored quantity deducted"), "扣除预存量"),
    "carried": L(gettext_noop("Carried over"), "转入未刷表购买量"),
    "transfer": L(gettext_noop("Transferred"), "转移量"),
    "value": L(gettext_noop("Remaining amount"), "用户剩余金额"),
    "old_balance": L(gettext_noop("Old meter balance"), "旧表余量"),
    "old_cumulative": L(gettext_noop("Old meter cumulative use"), "旧表累计用量"),
    "reason": L(gettext_noop("Reason"), "原因"),
    "last_taken": L(gettext_noop("The old meter took the last purchase"), "旧表已充入上次购买"),
    "asked_serial": L(gettext_noop("Purchase asked about"), "询问的购买序号"),
    "transfers_at_risk": L(
        gettext_noop("Meter-change transfers on the old card no meter is known to have taken"),
        "旧卡上未见任何表充入的换表转移",
    ),
    "versions": L(gettext_noop("Price versions"), "各价格版本"),
    "prices": L(gettext_noop("Prices"), "价格"),
    "fingerprint": L(gettext_noop("Key fingerprint"), "密钥指纹"),
    "paper": L(gettext_noop("Paper"), "纸张"),
    "card": L(gettext_noop("Card serial"), "卡号"),
    "records": L(gettext_noop("Meter write-back"), "表计回写"),
    "reading": L(gettext_noop("Meter reading"), "表计读数"),
    "time_zone": L(gettext_noop("Time zone"), "时区"),
    # a backup and a restore (the site)
    "file": L(gettext_noop("File"), "文件"),
    "engine": L(gettext_noop("Database"), "数据库"),
    "audit_entries": L(gettext_noop("Audit entries"), "审计记录数"),
}
# A field some objects give another meaning: a card's serial is the card's, not a purchase's.
OBJECT_FIELD_LABELS: dict[tuple[str, str], Label] = {
    ("cards.cardoperation", "serial"): FIELD_LABELS["card_serial"],
    ("vending.customercard", "serial"): FIELD_LABELS["card_serial"],
    ("site", "created_at"): L(gettext_noop("Backup made at"), "备份时间"),
}
# Coded values of those fields, by field (an empty one, a transfer's payment method say, is
# absent: shown as —, not as a method called None).
VALUE_LABELS: dict[str, dict[str, Label]] = {
    "payment": {code: label for code, label in PAYMENT_LABELS.items() if code},
    "status": {**PURCHASE_STATUS_LABELS, **CARD_STATUS_LABELS},
    "kind": PURCHASE_KIND_LABELS,
    "type": CARD_TYPE_LABELS,
    "previous": CARD_TYPE_LABELS,
    "tool_type": TOOL_CARD_LABELS,
    "meter_type": {
        "water": L(gettext_noop("Water"), "水表"),
        "electricity": L(gettext_noop("Electricity"), "电表"),
        "gas": L(gettext_noop("Gas"), "燃气表"),
        "heat": L(gettext_noop("Heat"), "热量表"),
    },
    "role": {
        "operator": L(gettext_noop("Operator"), "操作员"),
        "admin": L(gettext_noop("Administrator"), "管理员"),
    },
}
# Fields holding what a meter wrote back to a card: a list of records (``records``, read off
# user cards) or one (``reading``, off a check card), quantities in centi units.
METER_READING_FIELDS = frozenset({"records", "reading"})
# Fields holding a tariff: a sale's tier lines (``tiers``), a price's version or versions (as
# ``accounts.services.version_snapshot`` records them), a deleted account's prices.
TARIFF_FIELDS = frozenset({"tiers", "version", "versions", "prices"})
