"""The demo is a real case: every step of the PC shop's story shows up where a reader looks."""
from bot.demo import run_demo


def test_demo_tells_the_whole_case(tmp_path):
    out = run_demo(f"sqlite:///{tmp_path / 'demo.db'}")
    actions, rest = out.split("The channels, as a reader sees them:")
    channels, ticket = rest.split("The ticket (/ticket show 1001):")
    # 1. the agent files it, with order, customer, shop handle, new address and a photo
    assert "Created #1001: New gaming PC blue-screens (MEMORY_MANAGEMENT) (group: Warehouse, assigned to Lao Wang" in actions
    # 2. routing sends it to the warehouse lead, who is told
    assert "━━ #warehouse ━━" in channels and "━━ DM to lao_wang ━━" in channels
    assert "Xiaomei (customer service) assigned you #1001" in channels
    card = channels.split("━━ #warehouse ━━")[1]
    for fact in ("Order: TB20261111-8841", "Customer: Zhang Wei", "Shop handle: zw_gamer",
                 "Ship to: Room 1203, 88 Century Ave, Pudong, Shanghai", "Replacement: SF1402238871",
                 "Return: YT7788123456", "RMA: KST-RMA-55102", "CLOSED"):
        assert fact in card, fact
    # 3. the thread reads as the case's history, in order
    steps = ["↳ Lao Wang (warehouse lead): Which memory module", "↳ Xiaomei (customer service): Black heatsink",
             "replacement tracking → SF1402238871", "set #1001 to waiting: Replacement module shipped",
             "set #1001 to resolved: Customer confirms", "return tracking → YT7788123456",
             "↳ A-Jie (technician): Faulty module back and retested", "rma → KST-RMA-55102",
             "set #1001 to closed: Vendor RMA filed"]
    positions = [card.index(s) for s in steps]
    assert positions == sorted(positions)
    # SLA clocks: the waiting period paused the resolution clock, and both targets were met
    assert "SLA first response: met" in card and "SLA resolution: met" in card
    # 4. the ticket and its audit trail
    assert "Files: bsod-photo.jpg" in ticket
    for entry in ("routed group: ∅ → warehouse (category 'hardware' → warehouse)",
                  "first_response_at: ∅ →", "status: waiting → resolved", "status: resolved → closed"):
        assert entry in ticket, entry
