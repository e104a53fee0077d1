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


N_ = gettext_noop

# Payment methods, kinds and statuses as shown in reports.
PAYMENT_LABELS = {
    "cash": L(N_("Cash"), "现金"),
    "wechat": L(N_("WeChat Pay"), "微信支付"),
    "alipay": L(N_("Alipay"), "支付宝"),
    "bank_card": L(N_("Bank card"), "银行卡"),
    "other": L(N_("Other"), "其他"),
    "": L(N_("None"), "无"),
}
LEDGER_KIND_LABELS = {
    "sale": L(N_("Sale"), "销售"),
    "reversal": L(N_("Reversal"), "冲正"),
    "fee": L(N_("Fee"), "费用"),
    "transfer": L(N_("Meter-change transfer"), "换表转移"),
}
PURCHASE_STATUS_LABELS = {
    "pending": L(N_("Pending"), "待完成"),
    "completed": L(N_("Completed"), "已完成"),
    "voided": L(N_("Voided"), "已作废"),
    "corrected": L(N_("Corrected"), "已修改"),
}
PURCHASE_KIND_LABELS = {
    "purchase": L(N_("Purchase"), "购买"),
    "transfer": L(N_("Meter-change transfer"), "换表转移"),
}
CARD_OPERATION_LABELS = {
    "format": L(N_("Format"), "格式化"),
    "recycle": L(N_("Recycle"), "卡片回收"),
    "tool_card": L(N_("Tool card"), "工具卡"),
    "open": L(N_("Open account"), "开户"),
    "reissue": L(N_("Reissue"), "补卡"),
    "meter_change": L(N_("Meter change"), "换表"),
    "restore": L(N_("Restore"), "恢复卡片"),
}
TOOL_CARD_LABELS = {
    "setting": L(N_("Setting card"), "设置卡"),
    "clear_all": L(N_("Clear-all card"), "清空卡"),
    "zero": L(N_("Zero card"), "清零卡"),
    "check": L(N_("Check card"), "检查卡"),
}
METER_FLAG_LABELS = {
    "alarm": L(N_("Alarm"), "报警"),
    "valve_closed": L(N_("Valve closed"), "阀门关闭"),
    "overdraft": L(N_("Overdraft"), "透支"),
    "tamper": L(N_("Tamper"), "防拆/磁干扰"),
    "valve_forced": L(N_("Valve forced"), "强制开阀"),
    "wrong_meter": L(N_("Wrong-meter swipe"), "混刷/错表"),
    "low_battery": L(N_("Low battery"), "电池欠压"),
}


def text_of(labels: dict[str, Label], key: str | None) -> str:
    """The label of a code, or the code itself when it has none."""
    if key is None:
        return ""
    found = labels.get(key)
    return found.text() if found is not None else key
