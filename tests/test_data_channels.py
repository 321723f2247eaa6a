"""Channel mapping: Chinese/English raw names -> canonical keys; engine and pandas agree."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthlab.data.channels import CANONICAL, load_map, normalise, sql_case
from growthlab.errors import ConfigError

CASES = {
    "企业微信": "wecom",
    "企微": "wecom",
    "WeCom": "wecom",
    "wecom_1v1": "wecom",
    " 社群 ": "wechat_group",
    "微信群": "wechat_group",
    "小程序": "mini_program",
    "公众号": "official_account",
    "视频号": "channels_video",
    "直播": "live",
    "朋友圈": "moments",
    "短信": "sms",
    "SMS": "sms",
    "push": "app_push",
    "抖音": "douyin",
    "小红书": "xiaohongshu",
    "搜索": "search",
    "广告": "paid_ads",
    "线下": "offline",
    "organic": "organic",
    "裂变": "referral",
    "其他": "other",
}


def test_shipped_map_covers_every_canonical_key():
    lookup = load_map()
    assert set(lookup.values()) == set(CANONICAL)
    for key in CANONICAL:
        assert lookup[key] == key


def test_chinese_and_english_names():
    out = normalise(pd.Series(list(CASES)))
    assert out.tolist() == list(CASES.values())


def test_unknown_kept_missing_stays_missing():
    out = normalise(pd.Series([" 火星快递 ", None, "Mystery"]))
    assert out.iloc[0] == "火星快递" and pd.isna(out.iloc[1]) and out.iloc[2] == "Mystery"


def test_user_map_merges_over_shipped(tmp_path):
    f = tmp_path / "my.yaml"
    f.write_text("wecom: [火星快递]\nsms: [企微]\n", encoding="utf-8")
    lookup = load_map(f)
    assert lookup["火星快递"] == "wecom" and lookup["企微"] == "sms" and lookup["抖音"] == "douyin"
    assert load_map({"火星快递": "live"})["火星快递"] == "live"


def test_bad_map_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="channel_map"):
        load_map(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="channel_map"):
        load_map({"wecom": 3})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(load_map())),
            st.text(alphabet="ab企微 _X'", min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_engine_mapping_equals_pandas(names):
    lookup = load_map()
    con = duckdb.connect()
    con.register("t", pd.DataFrame({"x": pd.Series(names, dtype="string")}))
    src = "NULLIF(TRIM(x), '')"
    got = [r[0] for r in con.execute(f"SELECT {sql_case(src, lookup)} FROM t").fetchall()]
    want = normalise(pd.Series(names), lookup)
    want = [None if pd.isna(v) or v == "" else v for v in want]
    assert got == want
