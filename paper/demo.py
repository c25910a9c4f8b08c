"""``rebal demo`` (until the assistant lands): trade through the embedded exchange's KIS API.

Everything goes over the KIS wire protocol, exactly as a client would send it: issue a token,
read a quote, buy at the ask, let the simulated clock run, then read the balance and the fills.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from rich.console import Console
from rich.table import Table

from paper.embedded import EmbeddedExchange

BASE = "http://paper.local"


async def _demo(console: Console) -> None:
    embedded = EmbeddedExchange()
    account = embedded.account
    cano, product = account.cano, account.product_code
    async with httpx.AsyncClient(transport=embedded.transport(), base_url=BASE) as http:
        token = (await http.post("/oauth2/tokenP", json={
            "grant_type": "client_credentials", "appkey": account.app_key, "appsecret": account.app_secret})).json()
        headers = {"authorization": f"Bearer {token['access_token']}", "appkey": account.app_key,
                   "appsecret": account.app_secret, "custtype": "P"}

        async def get(path: str, tr_id: str, **params: str) -> dict:
            response = await http.get(path, params=params, headers={**headers, "tr_id": tr_id})
            return response.json()

        quote = await get("/uapi/domestic-stock/v1/quotations/inquire-price", "FHKST01010100",
                          FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD="069500")
        book = await get("/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn", "FHKST01010200",
                         FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD="069500")
        ask = book["output1"]["askp1"]
        now = embedded.exchange.clock.now()
        console.print(f"[bold]Embedded paper exchange[/] — simulated {now:%Y-%m-%d %H:%M} KST, account "
                      f"{cano[:4]}****-{product}")
        console.print(f"KODEX 200 (069500): last {int(quote['output']['stck_prpr']):,} KRW, ask {int(ask):,}")
        order = (await http.post("/uapi/domestic-stock/v1/trading/order-cash", headers={**headers, "tr_id": "VTTC0012U"},
                                 json={"CANO": cano, "ACNT_PRDT_CD": product, "PDNO": "069500", "ORD_DVSN": "00",
                                       "ORD_QTY": "10", "ORD_UNPR": ask})).json()
        console.print(f"order-cash → {order['msg_cd']} {order['msg1'].strip()} ODNO {order['output']['ODNO']}")
        embedded.exchange.clock.advance(dt.timedelta(minutes=5))
        balance = await get("/uapi/domestic-stock/v1/trading/inquire-balance", "VTTC8434R", CANO=cano,
                            ACNT_PRDT_CD=product, AFHR_FLPR_YN="N", OFL_YN="", INQR_DVSN="01", UNPR_DVSN="01",
                            FUND_STTL_ICLD_YN="N", FNCG_AMT_AUTO_RDPT_YN="N", PRCS_DVSN="00",
                            CTX_AREA_FK100="", CTX_AREA_NK100="")
        table = Table(title="Holdings (inquire-balance)")
        for column in ("ticker", "name", "qty", "avg price", "price", "value"):
            table.add_column(column, justify="right" if column not in ("ticker", "name") else "left")
        for row in balance["output1"]:
            table.add_row(row["pdno"], row["prdt_name"], row["hldg_qty"], f"{float(row['pchs_avg_pric']):,.0f}",
                          f"{int(row['prpr']):,}", f"{int(row['evlu_amt']):,}")
        console.print(table)
        totals = balance["output2"][0]
        console.print(f"cash D+0 {int(totals['dnca_tot_amt']):,}  D+2 {int(totals['prvs_rcdl_excc_amt']):,}  "
                      f"securities {int(totals['scts_evlu_amt']):,}  total {int(totals['tot_evlu_amt']):,} KRW")


def run_demo() -> None:
    asyncio.run(_demo(Console()))
