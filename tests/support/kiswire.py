"""A deliberately raw KIS wire client for the conformance tests: headers and JSON as KIS documents them.

It is not Rebal's client (that lives in ``tools/kis``); it sends exactly what the tests say, so the
tests can check the server's answers to well-formed and malformed requests alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

QUOTES = "/uapi/domestic-stock/v1/quotations/"
TRADING = "/uapi/domestic-stock/v1/trading/"


@dataclass
class KisWire:
    http: httpx.AsyncClient
    app_key: str
    app_secret: str
    account: str  # NNNNNNNN-NN
    profile: str = "paper"
    token: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def cano(self) -> str:
        return self.account.split("-")[0]

    @property
    def product(self) -> str:
        return self.account.split("-")[1]

    def tr(self, real_tr_id: str) -> str:
        """The profile's form of a trading tr_id (T… → V… on paper)."""
        return "V" + real_tr_id[1:] if self.profile == "paper" and real_tr_id[0] in "TJC" else real_tr_id

    async def issue_token(self) -> httpx.Response:
        response = await self.http.post("/oauth2/tokenP", json={
            "grant_type": "client_credentials", "appkey": self.app_key, "appsecret": self.app_secret})
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    def headers(self, tr_id: str, tr_cont: str = "") -> dict[str, str]:
        headers = {"appkey": self.app_key, "appsecret": self.app_secret, "tr_id": tr_id, "custtype": "P",
                   "tr_cont": tr_cont, **self.extra_headers}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    async def get(self, path: str, tr_id: str, tr_cont: str = "", **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers(tr_id, tr_cont))

    async def post(self, path: str, tr_id: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers(tr_id))

    # --- the calls the tests use most ----------------------------------------------------------

    async def price(self, ticker: str) -> httpx.Response:
        return await self.get(QUOTES + "inquire-price", "FHKST01010100", FID_COND_MRKT_DIV_CODE="J",
                              FID_INPUT_ISCD=ticker)

    async def book(self, ticker: str) -> httpx.Response:
        return await self.get(QUOTES + "inquire-asking-price-exp-ccn", "FHKST01010200",
                              FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD=ticker)

    async def balance(self, tr_cont: str = "", fk: str = "", nk: str = "") -> httpx.Response:
        return await self.get(TRADING + "inquire-balance", self.tr("TTTC8434R"), tr_cont, CANO=self.cano,
                              ACNT_PRDT_CD=self.product, AFHR_FLPR_YN="N", OFL_YN="", INQR_DVSN="01",
                              UNPR_DVSN="01", FUND_STTL_ICLD_YN="N", FNCG_AMT_AUTO_RDPT_YN="N", PRCS_DVSN="00",
                              CTX_AREA_FK100=fk, CTX_AREA_NK100=nk)

    async def balance_all(self) -> tuple[list[dict], list[httpx.Response]]:
        rows: list[dict] = []
        pages: list[httpx.Response] = []
        tr_cont, fk, nk = "", "", ""
        while True:
            response = await self.balance(tr_cont, fk, nk)
            pages.append(response)
            body = response.json()
            rows.extend(body["output1"])
            if response.headers["tr_cont"] not in ("F", "M") or len(pages) > 20:
                return rows, pages
            tr_cont, fk, nk = "N", body["ctx_area_fk100"], body["ctx_area_nk100"]

    async def buying_power(self, ticker: str = "", price: int | str = "", order_type: str = "00") -> httpx.Response:
        return await self.get(TRADING + "inquire-psbl-order", self.tr("TTTC8908R"), CANO=self.cano,
                              ACNT_PRDT_CD=self.product, PDNO=ticker, ORD_UNPR=str(price), ORD_DVSN=order_type,
                              CMA_EVLU_AMT_ICLD_YN="N", OVRS_ICLD_YN="N")

    async def order(self, side: str, ticker: str, quantity: int, price: int = 0, order_type: str = "00",
                    **extra: str) -> httpx.Response:
        tr_id = self.tr("TTTC0012U" if side == "buy" else "TTTC0011U")
        return await self.post(TRADING + "order-cash", tr_id, {
            "CANO": self.cano, "ACNT_PRDT_CD": self.product, "PDNO": ticker, "ORD_DVSN": order_type,
            "ORD_QTY": str(quantity), "ORD_UNPR": str(price), **extra})

    async def revise(self, order_no: str, price: int, quantity: int | None = None, order_type: str = "00",
                     cancel: bool = False) -> httpx.Response:
        return await self.post(TRADING + "order-rvsecncl", self.tr("TTTC0013U"), {
            "CANO": self.cano, "ACNT_PRDT_CD": self.product, "KRX_FWDG_ORD_ORGNO": "",
            "ORGN_ODNO": order_no, "ORD_DVSN": order_type, "RVSE_CNCL_DVSN_CD": "02" if cancel else "01",
            "ORD_QTY": str(quantity or 0), "ORD_UNPR": str(price), "QTY_ALL_ORD_YN": "N" if quantity else "Y"})

    async def cancel(self, order_no: str, quantity: int | None = None) -> httpx.Response:
        return await self.revise(order_no, 0, quantity, cancel=True)

    async def orders(self, day: str, tr_cont: str = "", nk: str = "", **filters: str) -> httpx.Response:
        params = {"CANO": self.cano, "ACNT_PRDT_CD": self.product, "INQR_STRT_DT": day, "INQR_END_DT": day,
                  "SLL_BUY_DVSN_CD": "00", "INQR_DVSN": "00", "PDNO": "", "CCLD_DVSN": "00", "ORD_GNO_BRNO": "",
                  "ODNO": "", "INQR_DVSN_3": "00", "INQR_DVSN_1": "", "CTX_AREA_FK100": "",
                  "CTX_AREA_NK100": nk, **filters}
        return await self.get(TRADING + "inquire-daily-ccld", self.tr("TTTC0081R"), tr_cont, **params)
