"""The /ticket grammar: what people type → commands, and specific errors for what is wrong."""
import pytest

from handlers import commands as c
from handlers.grammar import parse
from handlers.replies import UsageError
from handlers.texts import render

ME = c.Actor("console", "xiaomei")


def error_of(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(text, ME)
    return render(info.value.text.key, info.value.text.params)


def test_create_with_all_order_fields_and_quotes():
    cmd = parse('PC blue-screens on boot order:TB-8841 customer:"Zhang Wei" handle:zw_gamer '
                'address:"88 Century Ave, Pudong" category:hardware product:"gaming PC" priority:high @lao_wang', ME)
    assert isinstance(cmd, c.CreateTicket)
    assert cmd.title == "PC blue-screens on boot"
    assert (cmd.order_no, cmd.customer_name, cmd.customer_handle) == ("TB-8841", "Zhang Wei", "zw_gamer")
    assert cmd.shipping_address == "88 Century Ave, Pudong"
    assert (cmd.category, cmd.product, cmd.priority, cmd.assignee) == ("hardware", "gaming PC", "high", "@lao_wang")


def test_chinese_keys_fullwidth_colon_and_chinese_quotes():
    cmd = parse("电脑蓝屏 订单：TB123 客户：“张 伟” 旺旺:zw_gamer 地址：上海浦东 优先级：紧急", ME)
    assert isinstance(cmd, c.CreateTicket)
    assert cmd.title == "电脑蓝屏"
    assert (cmd.order_no, cmd.customer_name, cmd.customer_handle) == ("TB123", "张 伟", "zw_gamer")
    assert (cmd.shipping_address, cmd.priority) == ("上海浦东", "urgent")


def test_apostrophes_urls_and_codes_stay_in_the_title():
    cmd = parse("Customer's PC shows STOP code:0x7E see https://example.com/x at 10:30", ME)
    assert cmd.title == "Customer's PC shows STOP code:0x7E see https://example.com/x at 10:30"


def test_title_starting_with_capital_new_is_not_the_new_verb():
    assert parse("New PC is dead", ME).title == "New PC is dead"
    assert parse("new PC is dead", ME).title == "PC is dead"


@pytest.mark.parametrize("text, expected", [
    ("show 1001", c.ShowTicket(ME, number=1001)),
    ("show #1001", c.ShowTicket(ME, number=1001)),
    ("claim 7", c.Claim(ME, number=7)),
    ("watch 7", c.Watch(ME, number=7)),
    ("unwatch 7", c.Unwatch(ME, number=7)),
    ("assign 7 @li", c.Assign(ME, number=7, assignee="@li")),
    ("status 7 waiting on courier pickup", c.ChangeStatus(ME, number=7, status="waiting", note="on courier pickup")),
    ("status 7 reopen", c.ChangeStatus(ME, number=7, status="open")),
    ("status 7 已解决", c.ChangeStatus(ME, number=7, status="resolved")),
    ("priority 7 P1", c.ChangePriority(ME, number=7, priority="urgent")),
    ('comment 7 Parcel "SF123" picked up', c.AddComment(ME, number=7, body='Parcel "SF123" picked up')),
    ("search zw_gamer", c.Search(ME, query="zw_gamer")),
    ("mine", c.Mine(ME)),
    ("help", c.Help(ME)),
    ("set 7 tracking:SF1 return:YT2 赔偿:25.5", c.SetFields(ME, number=7, fields=(
        ("replacement_tracking", "SF1"), ("return_tracking", "YT2"), ("compensation", "25.5")))),
])
def test_verbs(text, expected):
    assert parse(text, ME) == expected


@pytest.mark.parametrize("text, message", [
    ("status 1001 done", "Unknown status 'done' — use one of: open, waiting, resolved, closed."),
    ("priority 1001 asap", "Unknown priority 'asap' — use one of: urgent, high, normal, low."),
    ("show", "'/ticket show' needs a ticket number, e.g. /ticket show 1001."),
    ("show abc", "'abc' is not a ticket number — use e.g. /ticket show 1001."),
    ("assign 1001", "'/ticket assign N' needs someone to assign, e.g. /ticket assign 1001 @li_wh."),
    ("comment 1001", "'/ticket comment N' needs some text, e.g. /ticket comment 1001 Parcel picked up."),
    ("order:123 customer:Li", "A ticket needs a summary. Try: /ticket Blue screen after boot order:12345 customer:\"Li Lei\""),
    ('Broken customer:"Li Lei', "There is an unclosed quote in your command"),
    ("Broken ordr:123", "Unknown field 'ordr:' — did you mean 'order:'?"),
    ("Broken order:", "'order:' needs a value, e.g. order:12345."),
    ("Broken order:1 order:2", "'order:' is given twice; keep one."),
    ("Broken @a @b", "Only one assignee per ticket: you mentioned @a and @b."),
    ("Broken priority:whenever", "Unknown priority 'whenever'"),
    ("set 1001 colour:red", "'colour' cannot be set that way — settable fields:"),
    ("search", "Search for what?"),
])
def test_errors_are_specific(text, message):
    assert error_of(text).startswith(message)
