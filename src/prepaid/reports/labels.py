"""Labels of report columns and titles: an English msgid for gettext plus its Chinese text.

Reports are read and exported in Chinese by default. The zh-Hans catalog translates the
English msgids; until it has a msgid (the catalog is produced from the code later), a Chinese
operator still gets the Chinese text written here, so exports always carry Chinese headers.
Any other language goes through gettext alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language, gettext, gettext_noop


@dataclass(frozen=True)
class Label:
    english: str  # the msgid, marked with gettext_noop where the label is defined
    chinese: str

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        translated = gettext(self.english)
        if translated == self.english and (get_language() or "").lower().startswith("zh"):
            return self.chinese
        return translated


def L(english: str, chinese: str) -> Label:
    return Label(english, chinese)


@dataclass(frozen=True)
class AccountQuantityLabel(Label):
    """The header of one account's quantity column: 自来水充值量（m³）."""

    account: str = ""
    unit: str = ""

    def text(self) -> str:
        return super().text() % {"account": self.account, "unit": self.unit}


def account_quantity_label(account: str, unit: str) -> AccountQuantityLabel:
    return AccountQuantityLabel(
        gettext_noop("%(account)s quantity (%(unit)s)"),
        "%(account)s充值量（%(unit)s）",
        account=account,
        unit=unit,
    )


# Payment methods, kinds and statuses as shown in reports.
PAYMENT_LABELS = {
    "cash": L(gettext_noop("Cash"), "现金"),
    "wechat": L(gettext_noop("WeChat Pay"), "微信支付"),
    "alipay": L(gettext_noop("Alipay"), "支付宝"),
    "bank_card": L(gettext_noop("Bank card"), "银行卡"),
    "other": L(gettext_noop("Other"), "其他"),
    "": L(gettext_noop("None"), "无"),
}
LEDGER_KIND_LABELS = {
    "sale": L(gettext_noop("Sale"), "销售"),
    "reversal": L(gettext_noop("Reversal"), "冲正"),
    "fee": L(gettext_noop("Fee"), "费用"),
    "transfer": L(gettext_noop("Meter-change transfer"), "换表转移"),
}
PURCHASE_STATUS_LABELS = {
    "pending": L(gettext_noop("Pending"), "待完成"),
    "completed": L(gettext_noop("Completed"), "已完成"),
    "voided": L(gettext_noop("Voided"), "已作废"),
    "corrected": L(gettext_noop("Corrected"), "已修改"),
}
PURCHASE_KIND_LABELS = {
    "purchase": L(gettext_noop("Purchase"), "购买"),
    "transfer": L(gettext_noop("Meter-change transfer"), "换表转移"),
}
CARD_STATUS_LABELS = {
    "active": L(gettext_noop("Active"), "有效"),
    "revoked": L(gettext_noop("Revoked"), "已作废"),
    "recycled": L(gettext_noop("Recycled"), "已回收"),
}
CARD_OPERATION_LABELS = {
    "format": L(gettext_noop("Format"), "格式化"),
    "recycle": L(gettext_noop("Recycle"), "卡片回收"),
    "tool_card": L(gettext_noop("Tool card"), "工具卡"),
    "open": L(gettext_noop("Open account"), "开户"),
    "reissue": L(gettext_noop("Reissue"), "补卡"),
    "meter_change": L(gettext_noop("Meter change"), "换表"),
    "restore": L(gettext_noop("Restore"), "恢复卡片"),
}
TOOL_CARD_LABELS = {
    "setting": L(gettext_noop("Setting card"), "设置卡"),
    "clear_all": L(gettext_noop("Clear-all card"), "清空卡"),
    "zero": L(gettext_noop("Zero card"), "清零卡"),
    "check": L(gettext_noop("Check card"), "检查卡"),
}
METER_FLAG_LABELS = {
    "alarm": L(gettext_noop("Alarm"), "报警"),
    "valve_closed": L(gettext_noop("Valve closed"), "阀门关闭"),
    "overdraft": L(gettext_noop("Overdrawn"), "透支"),  # the state, not the limit (透支量)
    "tamper": L(gettext_noop("Tamper"), "防拆/磁干扰"),
    "valve_forced": L(gettext_noop("Valve forced"), "强制开阀"),
    "wrong_meter": L(gettext_noop("Wrong-meter swipe"), "混刷/错表"),
    "low_battery": L(gettext_noop("Low battery"), "电池欠压"),
}

# The meter's display code after a swipe (``prepaid.core.meter.SwipeResult``), by name.
SWIPE_RESULT_LABELS = {
    "ok": L(gettext_noop("Accepted"), "正常"),
    "E01": L(gettext_noop("E01 bad card"), "E01 卡片无效"),
    "E02": L(gettext_noop("E02 maintenance code mismatch"), "E02 维护码不符"),
    "E03": L(gettext_noop("E03 meter not set"), "E03 仪表未设置"),
    "E04": L(gettext_noop("E04 card of another meter"), "E04 非本表用户卡"),
    "E05": L(gettext_noop("E05 card revoked"), "E05 卡片已作废"),
    "E06": L(gettext_noop("E06 over the purchase limit"), "E06 超过限购量"),
    "E07": L(gettext_noop("E07 purchase serial gap"), "E07 购买序号不连续"),
    "E08": L(gettext_noop("E08 meter in use"), "E08 仪表使用中"),
    "E09": L(gettext_noop("E09 transfer refused"), "E09 拒绝换表转移"),
    "E10": L(gettext_noop("E10 no purchase for this meter"), "E10 无本表购买"),
    "E11": L(gettext_noop("E11 not a user card"), "E11 非用户卡"),
    "E12": L(gettext_noop("E12 taken by another meter"), "E12 已被其他仪表接收"),
}
# What a card was before an operation (a format or a recycle read it first).
CARD_TYPE_LABELS = {
    "blank": L(gettext_noop("Blank card"), "空白卡"),
    "new": L(gettext_noop("New card"), "新卡"),
    "user": L(gettext_noop("User card"), "用户卡"),
    "setting": L(gettext_noop("Setting card"), "设置卡"),
    "clear_all": L(gettext_noop("Clear-all card"), "清空卡"),
    "zero": L(gettext_noop("Zero card"), "清零卡"),
    "check": L(gettext_noop("Check card"), "检查卡"),
    "unreadable": L(gettext_noop("Unreadable card"), "无法识别的卡"),
}
# Remarks the vending code writes on fee entries.
FEE_LABELS = {
    "reissue fee": L(gettext_noop("Reissue fee"), "补卡费"),
}


def text_of(labels: dict[str, Label], key: str | None) -> str:
    """The label of a code, or the code itself when it has none."""
    if key is None:
        return ""
    found = labels.get(key)
    return found.text() if found is not None else key
