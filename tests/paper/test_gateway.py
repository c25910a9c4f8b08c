"""What KIS's gateway checks before any API runs: keys, profile, tr_id, rate limit, wire conventions."""

from __future__ import annotations

from support.kiswire import QUOTES, TRADING
from support.paperkit import iter_leaves, out, rejected

from paper.ratelimit import SlidingWindowLimiter


async def test_response_headers_are_lowercase_and_numbers_are_strings(wire):
    response = await wire.balance()
    assert {"tr_id", "tr_cont", "gt_uid"} <= set(response.headers.keys())
    raw_names = [name for name, _ in response.headers.raw]
    assert b"tr_id" in raw_names and b"tr_cont" in raw_names
    assert response.headers["tr_id"] == "VTTC8434R"
    assert response.headers["content-type"].startswith("application/json")
    body = out(response)
    assert all(isinstance(leaf, str) for leaf in iter_leaves(body))
    assert len(body["msg1"]) >= 40  # space-padded like KIS


async def test_header_and_query_names_are_case_insensitive(wire, h):
    headers = {"Authorization": f"Bearer {wire.token}", "appKey": wire.app_key, "appSecret": wire.app_secret,
               "TR_ID": "FHKST01010100"}
    response = await h.http.get(QUOTES + "inquire-price", headers=headers,
                                params={"fid_cond_mrkt_div_code": "J", "fid_input_iscd": "069500"})
    assert int(out(response)["output"]["stck_prpr"]) > 0


async def test_duplicate_slashes_are_tolerated(wire, h):
    # As clients that join base + "/" + "/uapi/..." send it (an absolute URL, so httpx keeps the "//").
    url = str(h.http.base_url).rstrip("/") + "//uapi/domestic-stock/v1/quotations/inquire-price"
    response = await h.http.get(url,
                                headers=wire.headers("FHKST01010100"),
                                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "069500"})
    assert int(out(response)["output"]["stck_prpr"]) > 0


async def test_real_tr_id_on_paper_server(wire):
    response = await wire.get(TRADING + "inquire-balance", "TTTC8434R", CANO=wire.cano, ACNT_PRDT_CD="01")
    body = rejected(response, "EGW02006", 500)
    assert body["msg1"].strip() == "모의투자 TR 이 아닙니다."


async def test_psbl_rvsecncl_is_not_offered_on_paper(wire):
    for tr_id in ("VTTC0084R", "TTTC0084R"):
        response = await wire.get(TRADING + "inquire-psbl-rvsecncl", tr_id, CANO=wire.cano, ACNT_PRDT_CD="01",
                                  INQR_DVSN_1="0", INQR_DVSN_2="0", CTX_AREA_FK100="", CTX_AREA_NK100="")
        rejected(response, "EGW02006", 500)


async def test_legacy_paper_tr_ids_are_accepted(wire):
    response = await wire.post(TRADING + "order-cash", "VTTC0802U", {
        "CANO": wire.cano, "ACNT_PRDT_CD": wire.product, "PDNO": "069500", "ORD_DVSN": "01", "ORD_QTY": "1",
        "ORD_UNPR": "0"})
    assert out(response)["output"]["ODNO"].isdigit()


async def test_wrong_app_key_or_secret_headers(wire):
    wire.extra_headers = {"appkey": "PS" + "z" * 34}
    rejected(await wire.price("069500"), "EGW00103", 403)
    wire.extra_headers = {"appsecret": "q" * 180}
    rejected(await wire.price("069500"), "EGW00105", 403)


async def test_another_accounts_number_is_refused(wire, h):
    other = h.exchange.create_account(1_000_000)
    response = await wire.get(TRADING + "inquire-balance", "VTTC8434R", CANO=other.cano, ACNT_PRDT_CD="01",
                              INQR_DVSN="01")
    rejected(response, "OPSQ0013")


async def test_unknown_path_answers_service_not_found(wire, h):
    response = await h.http.get("/uapi/domestic-stock/v1/quotations/no-such-api", headers=wire.headers("X"))
    rejected(response, "MCA00124", 404)


async def test_paper_key_on_real_server(make_harness):
    async with make_harness(profile="real") as h:
        paper_account = h.exchange.create_account(1_000_000, profile="paper")
        response = await h.wire(paper_account).issue_token()
        assert response.json()["error_code"] == "EGW02004"
        real = await h.open_wire(h.exchange.create_account(1_000_000))
        rejected(await real.get(TRADING + "inquire-balance", "VTTC8434R", CANO=real.cano, ACNT_PRDT_CD="01"),
                 "EGW02007", 500)
        listing = await real.get(TRADING + "inquire-psbl-rvsecncl", "TTTC0084R", CANO=real.cano,
                                 ACNT_PRDT_CD="01", INQR_DVSN_1="0", INQR_DVSN_2="0")
        assert out(listing)["output"] == []


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_paper_rate_limit_is_one_per_second(make_harness):
    async with make_harness(rate_limit=None) as h:
        clock = FakeMonotonic()
        gateway_limiter = SlidingWindowLimiter(h.exchange.settings.requests_per_second, clock=clock)
        _swap_limiter(h, gateway_limiter)
        wire = await h.open_wire(h.exchange.create_account(1_000_000))
        out(await wire.price("069500"))
        body = rejected(await wire.price("069500"), "EGW00201", 500)
        assert body["msg1"].strip() == "초당 거래건수를 초과하였습니다."
        clock.now += 1.0
        out(await wire.price("069500"))


async def test_real_rate_limit_is_eighteen_per_second(make_harness):
    async with make_harness(profile="real", rate_limit=None) as h:
        clock = FakeMonotonic()
        _swap_limiter(h, SlidingWindowLimiter(h.exchange.settings.requests_per_second, clock=clock))
        wire = await h.open_wire(h.exchange.create_account(1_000_000))
        for _ in range(18):
            out(await wire.price("069500"))
            clock.now += 0.01
        rejected(await wire.price("069500"), "EGW00201", 500)
        other = await h.open_wire(h.exchange.create_account(1_000_000))
        out(await other.price("069500"))  # the limit is per account
        clock.now += 1.0
        out(await wire.price("069500"))


def _swap_limiter(h, limiter: SlidingWindowLimiter) -> None:
    h.app.state.gateway.limiter = limiter


async def test_clock_and_faults_controls(h, wire):
    state = (await h.http.get("/paper/clock")).json()
    assert state["now"].startswith("2026-11-20T10:00") and state["phase"] == "continuous"
    moved = (await h.http.post("/paper/clock", json={"advance_seconds": 3600})).json()
    assert moved["now"].startswith("2026-11-20T11:00")
    bad = await h.http.post("/paper/clock", json={"set": "2026-11-20T12:00"})
    assert bad.status_code == 400 and "timezone" in bad.json()["error"]
    assert (await h.http.post("/paper/faults", json={"rate_limit_burst": 1})).json()["rate_limit_burst"] == 1
    rejected(await wire.price("069500"), "EGW00201", 500)
    assert (await h.http.post("/paper/faults", json={"nonsense": 1})).status_code == 400
