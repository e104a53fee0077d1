"""Names, phone numbers and addresses for demo customers (made up, seeded)."""

from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉建国"
    "建华志强海燕凤英淑珍晓明春梅丹婷宇浩然子涵欣怡梓萱"
)
STREETS = (
    "幸福路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "中山路",
    "新华路",
    "胜利路",
    "光明路",
    "文化路",
    "朝阳路",
    "长江路",
    "黄河路",
    "东风路",
    "青年路",
)
ESTATES = (
    "阳光小区",
    "锦绣花园",
    "翠湖苑",
    "金桂园",
    "丽景湾",
    "书香门第",
    "紫荆花园",
    "御景华庭",
    "滨江名邸",
    "康乐小区",
)
SHOPS = ("便利店", "小吃店", "理发店", "洗衣店", "超市", "茶馆", "面馆", "药店")


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.randint(0, 2) else "")
    return rng.choice(SURNAMES) + given


def business_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "记" + rng.choice(SHOPS)


def phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "151", "186", "187", "135", "177")) + "".join(
        str(rng.randint(0, 9)) for _ in range(8)
    )


def address(rng: random.Random) -> str:
    if rng.randint(0, 1):
        return f"{rng.choice(STREETS)}{rng.randint(1, 300)}号"
    return (
        f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元"
        f"{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
    )
