"""The vector loader reads every file format and the counts match the provenance README."""

from tests.kat import load_json, load_records


def test_botan_des_vec_sections_and_count() -> None:
    records = load_records("des", "botan_des.vec")
    sections = {r.section for r in records}
    assert sections == {"DES", "TripleDES"}
    assert len(records) == 315
    assert sum(r.section == "DES" for r in records) == 258


def test_cavp_rsp_has_encrypt_and_decrypt() -> None:
    records = load_records("tdes_cavp", "TECBvarkey.rsp")
    assert {r.section for r in records} == {"ENCRYPT", "DECRYPT"}
    assert len(records) == 112
    assert all("COUNT" in r.fields for r in records)


def test_sp800_17_json_count() -> None:
    data = load_json("des", "des_sp800_17_kat.json")
    assert sum(len(g["vectors"]) for g in data["groups"]) == 236
