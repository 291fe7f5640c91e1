"""The same bytes as before the one-data-path restructuring (issue 12).

The SHA-256 of every table, recorded on the code before the restructuring, for a few
seeds after 120 daily batches, after ten years of batches in spans, and around a
1,000,000-purchase day. A restructuring must leave every one of them unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from unittest.mock import patch

import pytest

from first_temporal.config import Pipeline
from first_temporal.tests.batches import run_batch, run_batches

FILES = ("placeholder", "purchase", "customer", "dispute", "delivery", "product")

GOLDEN: dict[str, dict[str, str]] = {
    "daily-7": {
        "placeholder": "eeb2735d34450b8809e5d5db0c2d230368ce84dc874449580306a12d15a9ca40",
        "purchase": "40969d1b9c8f31b85dee9076cee7c74b2aa4e7c696507bc3594b2cefb0ad7517",
        "customer": "2f6253350b148e38a4ccc36b5769b07c4fb2c1083f32c26fd7fe1e03b1d3071e",
        "dispute": "d3ce8c8db22a06ed66a47fd51290da81b99bf67a481428ce531798f9633575a7",
        "delivery": "e18ed531f1b7e31c4c9eb29d2a7b7274ac0879c870fd51f165702e64209b79b6",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
    "daily-42": {
        "placeholder": "9ed3d953b65eb090440ad723bd654ba22c875d939bde8608d8b4affa3697d1c1",
        "purchase": "61e7cb3c51ed63ff5f43a934210ee9cea6460569d3e51b16b5a1646f5f4f44c2",
        "customer": "6c878f3aedcb0b097937b8aa7ba6ba1740f3498c3d2f0b173768b4c1450292f6",
        "dispute": "e4e226587a35cd121d7ecc7c0d740a48343925b8472930a9f27e1d003389a6bd",
        "delivery": "a5111ff12b15e209d272e2af54703fdf477fce446f6758f389d2991b04a7daae",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
    "daily-2024": {
        "placeholder": "4df026bd16bef7242251e0b6864190d485b3cee6c1ad61cb8d3b69d63c21455c",
        "purchase": "349e7a7b756feda4122f3d1f069520fb0ca3ff56102350ff8ccfd0aaf606d570",
        "customer": "e094e1b253eabe1d42d3f09027e7ec523856af20b1904dca7d4d56c7b2c69dc7",
        "dispute": "ebfaf12c38ff7e68e63ecea46d4b34e08fa4ac9896c85906f69eaf5461b67923",
        "delivery": "6b1cb8c5bc40cb0bb0484fa0fd701a9510eea87021d803ba7035e41a325a07bc",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
    "decade-42": {
        "placeholder": "bfcf3fc8a923d7a7b9945d94b021e9d6d92c87fd539e7fc3671aa0e29b86c282",
        "purchase": "d58efef86ae0011eabcc8a5e523bf686204be1af560264d8979f3bfbdd49e645",
        "customer": "6f1dd8b745f76c2644dbc9d53cd226a5577f256c7622a738b018d414277e9b00",
        "dispute": "5f5b3b75756cc9cdea01566ac5b832d0a92f0131539efa5db3c068b2ef06bc82",
        "delivery": "0cf1e8cdebdb31620c3f22ae755e6fff1657628c788ee1ae107d8dfc8c1ea74d",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
    "bulk-42-after-bulk": {
        "placeholder": "e95d1b01133fe4b134db73dd2de1a8e056f89ec784f0117aafd99a6d428eeac1",
        "purchase": "913ae94f27583190f2e931cb2c56c815d1c4a26ad30831ed011bf0afa5d054f2",
        "customer": "63b75acd4de5404548ff10236b2bd5009bcd1316f56fa5d1e66969de18b5cc56",
        "dispute": "60b43005056c08eba13d2b1ec0591ce5fb535b87e8808f96961e5affa5ffa0b0",
        "delivery": "4a263f3e50867b3e5405f3a4cc5d7032a5c665c2023d26eb52ea72734475cabc",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
    "bulk-42": {
        "placeholder": "12a2d57fd69018553cec6c24500f835d35d0bb8142e857771a740fcefb989f84",
        "purchase": "8e87aab90b4e0514eba4583afa3fd6c73a65bbb653828267c57e03b8085589c7",
        "customer": "a0d1714988e62af216e53f2d85eeda99149a83360d01e034c57a7c9217fe1bca",
        "dispute": "74bd01c0b0b925293c338c908cc0901d120ae481c841f5489c07062f58dd3b79",
        "delivery": "269f9c95528b833093c03d2ba52e645ebc0270b21cbcbeab83f5519b697a640c",
        "product": "fc0df4242d7b104d17da3cfb6d9564cdb3f9927d1d6c4c37f3d3bb588b860fd3",
    },
}


def digest(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / f"{name}.csv").read_bytes()).hexdigest() for name in FILES
    }


@pytest.mark.parametrize("seed", [7, 42, 2024])
def test_120_daily_batches(tmp_path: Path, seed: int):
    with patch("os.fsync"):
        run_batches(Pipeline(location=str(tmp_path), seed=seed), 120)
    assert digest(tmp_path) == GOLDEN[f"daily-{seed}"]


def test_a_decade_in_spans(tmp_path: Path):
    pipeline = Pipeline(location=str(tmp_path), seed=42)
    with patch("os.fsync"):
        for days in (1000, 1000, 1000, 650):
            run_batch(pipeline, days)
    assert digest(tmp_path) == GOLDEN["decade-42"]


def test_a_million_purchase_day_and_the_days_around_it(tmp_path: Path):
    pipeline = Pipeline(location=str(tmp_path), seed=42)
    with patch("os.fsync"):
        run_batches(pipeline, 20)
        run_batch(pipeline, purchases=1_000_000)
        assert digest(tmp_path) == GOLDEN["bulk-42-after-bulk"]
        run_batches(pipeline, 5)
    assert digest(tmp_path) == GOLDEN["bulk-42"]
