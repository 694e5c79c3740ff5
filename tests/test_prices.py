"""Issue 28: reliability classes and the choice among providers, the local price file merged over the packaged
catalog, the refresh parsers on recorded source responses, and the age of the prices behind a plan."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gpucast.catalog import loader
from gpucast.catalog.price_overrides import dumps, read_override, write_override
from gpucast.catalog.price_rows import merge, price_rows
from gpucast.catalog.price_update import parse_azure, parse_skypilot_csv, update
from gpucast.core.cost import InstancePrice, cheapest_fleet, pricing_models
from gpucast.errors import CatalogError, InputError, PriceSourceError
from gpucast.inputs.types import LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.inference import plan_inference
from gpucast.planning.price_age import age_days, as_of_date, stale_warning

DATA = Path(__file__).parent / "data" / "prices"
TODAY = dt.date(2026, 12, 4)

AWS = InstancePrice("aws", "p5.48xlarge", "h100-sxm", 8, "us-east-1", 55.04, spot_usd_h=17.6289)
LAMBDA = InstancePrice("lambda", "gpu_8x_h100_sxm5", "h100-sxm", 8, "us-east-1", 23.92, interconnect="nvlink")
VAST = InstancePrice("vast", "1x-H100_SXM", "h100-sxm", 1, "US", None, marketplace_low_usd_h=1.93,
                     marketplace_high_usd_h=2.40, multi_node=False)  # fmt: skip
VAST8 = InstancePrice("vast", "8x-H100_SXM", "h100-sxm", 8, "VN", None, marketplace_low_usd_h=16.0,
                      marketplace_high_usd_h=16.0, multi_node=False)  # fmt: skip


@pytest.fixture
def local_file(local_price_file: Path) -> Path:
    """A private local price file for the test (conftest's ``local_price_file``)."""
    return local_price_file


def _recorded(url: str) -> str:
    """The recorded response for a source URL (the URLs are the files' paths below tests/data/prices)."""
    return (DATA / url.split("://", 1)[1].split("/", 1)[1].split("?")[0]).read_text(encoding="utf-8")


def _missing(mapped: dict[str, str]) -> dict[str, int]:
    """Source GPU names (one row each in the recording) whose mapped gpucast id gpus.toml does not list."""
    return {name: 1 for name, gpu in mapped.items() if gpu not in loader.load_gpus()}


def _offline(url: str) -> str:
    """The recorded copy of a real SkyPilot catalog URL (the update's default source URLs)."""
    assert url.startswith("https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v8/"), url
    return (DATA / "skypilot" / url.split("/catalogs/v8/")[1]).read_text(encoding="utf-8")


# ---------------------------------------------------------------- choosing (core)


def test_pricing_models_parse_lists_and_all():
    assert pricing_models("on-demand") == ("on-demand",)
    assert pricing_models(" Spot , on-demand ") == ("on-demand", "spot")  # catalog order, case-insensitive
    assert pricing_models("all") == ("on-demand", "spot", "1yr", "3yr", "marketplace")
    for bad in ("", ",", "cheap", "on-demand,reserved"):
        with pytest.raises(ValueError):
            pricing_models(bad)


def test_cheapest_offer_across_clouds_names_provider_region_and_class():
    fleet = cheapest_fleet([AWS, LAMBDA], gpus_per_replica=8, replicas=2, pricing="on-demand")
    assert (fleet.cloud, fleet.region, fleet.reliability) == ("lambda", "us-east-1", "on-demand")
    assert fleet.hourly_usd == pytest.approx(2 * 23.92)
    spot = cheapest_fleet([AWS, LAMBDA], gpus_per_replica=8, replicas=2, pricing="on-demand,spot")
    # 2 x 17.6289 spot on AWS beats 2 x 23.92 on-demand on Lambda
    assert (spot.cloud, spot.pricing, spot.reliability) == ("aws", "spot", "spot/interruptible")
    assert spot.hourly_usd == pytest.approx(35.2578)


def test_marketplace_is_priced_at_the_range_low_end_and_carries_the_high_end():
    fleet = cheapest_fleet([AWS, VAST], gpus_per_replica=1, replicas=3, pricing="all")
    assert (fleet.cloud, fleet.reliability, fleet.instances) == ("vast", "marketplace", 3)
    assert fleet.hourly_usd == pytest.approx(3 * 1.93) and fleet.hourly_high_usd == pytest.approx(3 * 2.40)
    assert cheapest_fleet([VAST], gpus_per_replica=1, replicas=1, pricing="on-demand") is None


def test_a_replica_never_spans_instances_without_a_cluster_fabric():
    # 16 GPUs per replica: two 8-GPU instances. Lambda's clusters may (multi_node), Vast hosts may not.
    assert cheapest_fleet([VAST8], gpus_per_replica=16, replicas=1, pricing="marketplace") is None
    fleet = cheapest_fleet([VAST8, LAMBDA], gpus_per_replica=16, replicas=1, pricing="all")
    assert (fleet.cloud, fleet.instances) == ("lambda", 2)


def test_the_largest_instance_rule_is_per_cloud():
    # AWS sells a 1-GPU H100; a TP=2 replica must not be two AWS p5.4xlarge when AWS has an 8-GPU box, but another
    # cloud's largest instance does not change AWS's rule
    small = InstancePrice("aws", "p5.4xlarge", "h100-sxm", 1, "us-east-1", 6.88)
    one = InstancePrice("other", "h100x1", "h100-sxm", 1, "r", 1.0)
    fleet = cheapest_fleet([small, AWS, one], gpus_per_replica=2, replicas=1, pricing="on-demand")
    assert fleet.instance_type == "h100x1" and fleet.instances == 2  # 'other' sells only 1-GPU boxes


# ---------------------------------------------------------------- loader and the local file


def test_packaged_catalog_has_the_gpu_clouds_with_shapes():
    clouds = loader.clouds()
    assert {"aws", "gcp", "azure", "lambda", "nebius", "oci", "runpod", "vast"} <= set(clouds)
    lam = [p for p in loader.prices_for("lambda", "h100-sxm") if p.region == "us-east-1"]
    assert [(p.instance_type, p.gpus, p.on_demand_usd_h, p.interconnect, p.multi_node) for p in lam] == [
        ("gpu_8x_h100_sxm5", 8, 23.92, "nvlink", True)
    ]
    assert len(loader.prices_for("lambda", "h100-sxm")) == 17  # one row per region the price was read for
    vast = loader.prices_for("vast", "h100-sxm", "US")
    assert all(p.on_demand_usd_h is None and p.marketplace_low_usd_h and not p.multi_node for p in vast)
    for p in loader.load_prices():
        assert p.source.startswith("https://") and p.as_of, p


def test_price_rows_reject_bad_entries():
    ok = {"cloud": "x", "instance_type": "i", "gpu": "h100-sxm", "gpus": 1, "region": "r", "on_demand_usd_h": 1.0,
          "source": "https://example.org", "as_of": "2026-01"}  # fmt: skip
    cases = [
        ({"gpu": "h999"}, "unknown GPU"),
        ({"source": ""}, "lacks 'source'"),
        ({"on_demand_usd_h": 0.0}, "positive"),
        ({"on_demand_usd_h": None}, "at least one price"),
        ({"colour": "red"}, "unknown field"),
        ({"interconnect": "ethernet"}, "interconnect"),
        ({"regions": ["a"]}, "both region and regions"),
    ]
    for change, message in cases:
        entry = {k: v for k, v in (ok | change).items() if v is not None}
        with pytest.raises(CatalogError, match=message):
            price_rows([entry], "f.toml", ["h100-sxm"])
    two = price_rows([{k: v for k, v in ok.items() if k != "region"} | {"regions": ["a", "b"]}], "f", ["h100-sxm"])
    assert [r.region for r in two] == ["a", "b"]


def test_merge_replaces_same_offer_and_keeps_the_rest():
    old = InstancePrice("lambda", "gpu_8x_h100_sxm5", "h100-sxm", 8, "us-east-1", 23.92, as_of="2026-01")
    new = InstancePrice("lambda", "gpu_8x_h100_sxm5", "h100-sxm", 8, "us-east-1", 21.0, as_of="2026-12-04")
    extra = InstancePrice("lambda", "gpu_8x_h100_sxm5", "h100-sxm", 8, "us-west-1", 22.0, as_of="2026-12-04")
    merged = merge([old, AWS], [new, extra])
    assert merged == (new, AWS, extra)


def test_a_refreshed_row_keeps_the_catalogs_commitments_with_their_own_source():
    packaged = InstancePrice("aws", "p5.48xlarge", "h100-sxm", 8, "us-east-1", 55.04, reserved_1yr_usd_h=34.6752,
                             source="https://example.org/fsku", as_of="2026-09-27")  # fmt: skip
    fresh = InstancePrice("aws", "p5.48xlarge", "h100-sxm", 8, "us-east-1", 50.0, spot_usd_h=15.0,
                          source="https://example.org/skypilot", as_of="2026-12-01")  # fmt: skip
    (row,) = merge([packaged], [fresh])
    assert (row.on_demand_usd_h, row.spot_usd_h, row.reserved_1yr_usd_h) == (50.0, 15.0, 34.6752)
    assert (row.commitment_source, row.commitment_as_of) == ("https://example.org/fsku", "2026-09-27")
    reserved = cheapest_fleet([row], gpus_per_replica=8, replicas=1, pricing="1yr")
    on_demand = cheapest_fleet([row], gpus_per_replica=8, replicas=1, pricing="on-demand")
    assert (reserved.source, reserved.as_of) == ("https://example.org/fsku", "2026-09-27")  # the price's own date
    assert (on_demand.source, on_demand.as_of) == ("https://example.org/skypilot", "2026-12-01")


def test_loader_merges_the_local_file_over_the_packaged_catalog(local_file: Path):
    packaged = len(loader.load_prices())
    before = loader.offers_for(("aws", "newcloud"), "h100-sxm")  # remembered (loader._offers) until the reload
    write_override({"updated_at": "2026-12-04", "instances": [
        {"cloud": "aws", "instance_type": "p5.48xlarge", "gpu": "h100-sxm", "gpus": 8, "region": "us-east-1",
         "on_demand_usd_h": 50.0, "source": "https://example.org/aws", "as_of": "2026-12-01"},
        {"cloud": "newcloud", "instance_type": "h100x8", "gpu": "h100-sxm", "gpus": 8, "regions": ["r1", "r2"],
         "on_demand_usd_h": 20.0, "source": "https://example.org/new", "as_of": "2026-12-01"},
    ]}, local_file)  # fmt: skip
    loader.reload_prices()
    p5 = [p for p in loader.prices_for("aws", "h100-sxm", "us-east-1") if p.instance_type == "p5.48xlarge"]
    assert [(p.on_demand_usd_h, p.spot_usd_h, p.as_of) for p in p5] == [(50.0, None, "2026-12-01")]
    assert len(loader.load_prices()) == packaged + 2 and "newcloud" in loader.clouds()
    assert loader.regions("newcloud") == ("r1", "r2")
    assert "local_prices" in loader.catalog_versions()
    after = loader.offers_for(("aws", "newcloud"), "h100-sxm")
    assert [p for p in after if p.cloud == "newcloud"] and not [p for p in before if p.cloud == "newcloud"]
    assert 50.0 in {p.on_demand_usd_h for p in after} - {p.on_demand_usd_h for p in before}


def test_a_broken_local_file_is_one_clear_error(local_file: Path):
    local_file.write_text("[[instances]\n", encoding="utf-8")
    loader.reload_prices()
    with pytest.raises(CatalogError, match="not valid TOML"):
        loader.load_prices()


def test_override_writer_round_trips():
    table = {"updated_at": "2026-12-04", "sources": {"vast": {"url": 'https://x/"q"', "rows": 1}},
             "instances": [{"cloud": "vast", "gpus": 2, "regions": ["US", "FR"], "multi_node": False,
                            "on_demand_usd_h": None, "marketplace_low_usd_h": 0.5}]}  # fmt: skip
    import tomllib

    back = tomllib.loads(dumps(table))
    assert back["sources"]["vast"]["url"] == 'https://x/"q"'
    assert back["instances"][0] == {"cloud": "vast", "gpus": 2, "regions": ["US", "FR"], "multi_node": False,
                                    "marketplace_low_usd_h": 0.5}  # fmt: skip
    with pytest.raises(CatalogError):
        dumps({"instances": [{"x": float("nan")}]})


# ---------------------------------------------------------------- refresh on recorded responses


def test_skypilot_lambda_rows_become_one_entry_per_instance_and_region():
    result = parse_skypilot_csv(_recorded("http://h/skypilot/lambda/vms.csv"), "lambda", "u", "2026-12-04")
    assert result.uncatalogued == {"V100": 1}  # Lambda's 8x V100 is the 16 GB card, not in gpus.toml
    rows = {(r["instance_type"], r["region"]): r for r in result.rows}
    h100 = rows[("gpu_8x_h100_sxm5", "us-west-3")]
    assert (h100["gpu"], h100["gpus"], h100["on_demand_usd_h"], h100["interconnect"], h100["multi_node"]) == (
        "h100-sxm", 8, 23.92, "nvlink", True)  # fmt: skip
    assert "spot_usd_h" not in h100 and h100["as_of"] == "2026-12-04" and h100["source"] == "u"
    assert rows[("gpu_2x_b200_sxm6", "us-east-1")]["multi_node"] is False  # a 2-GPU box is not a cluster node
    assert "interconnect" not in rows[("gpu_1x_gh200", "us-east-1")]
    assert len(result.rows) == 10


def test_skypilot_vast_is_a_marketplace_range_over_its_locations():
    result = parse_skypilot_csv(_recorded("http://h/skypilot/vast/vms.csv"), "vast", "u", "2026-12-04")
    # mapped to gpucast ids that another change adds to gpus.toml: skipped only while the id is missing
    assert result.uncatalogued == _missing({"RTX5090": "rtx-5090", "RTX3090": "rtx-3090"})
    rows = {r["instance_type"]: r for r in result.rows}
    one = rows["1x-H100_SXM-32-65536"]
    assert one["regions"] == ["FR", "TH", "US"] and "on_demand_usd_h" not in one
    assert (one["marketplace_low_usd_h"], one["marketplace_high_usd_h"], one["multi_node"]) == (1.93, 1.93, False)
    assert rows["1x-H100_NVL-32-65536"]["gpu"] == "h100-nvl"
    assert rows["4x-H200-32-65536"]["region"] == "US"  # location ", US, NA" has no state


def test_skypilot_spot_is_the_lowest_over_zones_and_oci_skips_other_gpus():
    runpod = parse_skypilot_csv(_recorded("http://h/skypilot/runpod/vms.csv"), "runpod", "u", "2026-12-04")
    rows = {(r["instance_type"], r["region"]): r for r in runpod.rows}
    one = rows[("1x_A100-80GB_SECURE", "CA")]  # two Montreal zones, one CA entry
    assert (one["gpu"], one["on_demand_usd_h"], one["spot_usd_h"]) == ("a100-80gb-pcie", 1.64, 0.82)
    assert rows[("2x_A100-80GB_SECURE", "US")]["interconnect"] == "pcie"
    h100 = rows[("2x_H100-SXM_SECURE", "US")]
    assert (h100["gpu"], h100["on_demand_usd_h"], h100["spot_usd_h"], h100["interconnect"], h100["multi_node"]) == (
        "h100-sxm", 5.38, 3.5, "nvlink", False)  # fmt: skip
    assert rows[("9x_H100-NVL_SECURE", "US")]["gpu"] == "h100-nvl" and rows[("8x_L40_SECURE", "CA")]["gpu"] == "l40"
    assert runpod.uncatalogued == {}
    oci = parse_skypilot_csv(_recorded("http://h/skypilot/oci/vms.csv"), "oci", "u", "2026-12-04")
    assert oci.uncatalogued == {"V100": 1} | _missing({"B300": "b300"})  # OCI's V100 is the 16 GB card
    h100 = {r["region"]: r for r in oci.rows if r["instance_type"] == "BM.GPU.H100.8"}
    assert set(h100) == {"af-casablanca-1", "us-phoenix-1"} and h100["us-phoenix-1"]["on_demand_usd_h"] == 80.0


def test_a_csv_that_is_not_a_skypilot_catalog_is_refused():
    with pytest.raises(PriceSourceError, match="not a SkyPilot catalog CSV"):
        parse_skypilot_csv("<html>rate limited</html>\n", "lambda", "u", "2026-12-04")


def test_azure_keeps_linux_pay_as_you_go_and_spot_only():
    page = json.loads((DATA / "azure" / "Standard_ND96isr_H100_v5.json").read_text(encoding="utf-8"))
    result = parse_azure([page], "https://prices.azure.com/api/retail/prices", "2026-12-04")
    assert len(result.rows) == 1
    row = result.rows[0]
    assert (row["instance_type"], row["region"], row["gpu"], row["gpus"]) == (
        "Standard_ND96isr_H100_v5", "eastus", "h100-sxm", 8)  # fmt: skip
    # 102.736 is the Windows meter, 41.094 a Windows Low Priority meter: neither is used
    assert (row["on_demand_usd_h"], row["spot_usd_h"]) == (98.32, 18.169536)
    reservation = dict(page["Items"][0], type="Reservation", reservationTerm="1 Year", retailPrice=551221.0)
    again = parse_azure([{"Items": [*page["Items"], reservation]}], "u", "2026-12-04").rows[0]
    assert again["reserved_1yr_usd_h"] == pytest.approx(551221.0 / 8760, rel=1e-6)
    with pytest.raises(PriceSourceError, match="Items"):
        parse_azure([{"error": "throttled"}], "u", "2026-12-04")


def test_update_writes_only_the_local_file(local_file: Path):
    packaged = (Path(loader.__file__).parent / "prices.toml").read_bytes()
    results = update(["lambda", "vast"], fetch=_offline, today=TODAY)
    assert [r.provider for r in results] == ["lambda", "vast"]
    table = read_override(local_file)
    assert table["updated_at"] == "2026-12-04" and set(table["sources"]) == {"lambda", "vast"}
    assert (Path(loader.__file__).parent / "prices.toml").read_bytes() == packaged
    # a second refresh of one provider replaces that provider's local rows and keeps the other's
    update(["lambda"], fetch=_offline, today=TODAY)
    clouds = [row["cloud"] for row in read_override(local_file)["instances"]]
    assert clouds.count("lambda") == 10 and clouds.count("vast") == len(results[1].rows)
    with pytest.raises(InputError, match="--provider 'coreweave' is not one of"):
        update(["coreweave"])


# ---------------------------------------------------------------- age


def test_age_of_a_day_and_of_a_month():
    assert as_of_date("2026-08") == dt.date(2026, 8, 1)
    assert age_days("2026-08", TODAY) == 125 and age_days("2026-12-04", TODAY) == 0
    assert age_days("2027-01-01", TODAY) == 0
    assert stale_warning("2026-09-05", 90, TODAY) == ""  # 90 days: not older than 90
    assert "91 days old, more than 90" in stale_warning("2026-09-04", 90, TODAY)
    with pytest.raises(CatalogError, match="not a date"):
        as_of_date("last summer")


def test_plans_state_the_price_age_and_warn_when_stale():
    workload, model = LLMWorkloadInput(5, 500, 200), ModelConfig(model_name="llama-3.1-8b")
    plan = plan_inference(workload, model, options=ServingOptions(cloud="aws"))
    age = (dt.date.today() - dt.date(2026, 8, 1)).days
    assert plan.cost.price_as_of == "2026-08" and plan.cost.price_age_days == age
    assert plan.cost.price_stale is (age > 90)
    assert any("prices are as of 2026-08" in w for w in plan.warnings) is (age > 90)
    lenient = plan_inference(workload, model, options=ServingOptions(cloud="aws", price_max_age_days=10_000))
    assert not lenient.cost.price_stale and not any("prices are as of" in w for w in lenient.warnings)
    assert lenient.inputs["price_max_age_days"] == 10_000
