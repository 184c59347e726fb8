import json
from decimal import Decimal as D
from pathlib import Path

from mappings.addresses import country_name, standardise, state_name
from mappings.customers import client_from_order, client_from_profile
from mappings.products import item_from_product
from mappings.rules import ItemOverride, Rules, load_rules
from mappings.xcart.entities import Address
from mappings.xcart.schemas import OrderSchema, load, parse_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"


def event(name):
    return parse_event(json.loads((FIXTURES / name).read_text(), parse_float=D))


def test_a_phone_goes_to_freshbooks_in_e164_when_its_country_knows_it_and_as_typed_otherwise():
    order = json.loads((FIXTURES / "order_5_5.json").read_text(), parse_float=D)["data"]
    national = {**order, "billing_address": {**order["billing_address"], "phone": "(617) 555-0199"}}
    assert client_from_order(load(OrderSchema, national))["bus_phone"] == "+16175550199"
    unknown = {**order, "billing_address": {**order["billing_address"], "phone": "+1-555-0100"}}
    assert client_from_order(load(OrderSchema, unknown))["bus_phone"] == "+1-555-0100"


def test_profile_to_client_with_billing_and_shipping():
    client = client_from_profile(event("customer.json").data)
    assert client == {
        "email": "maria.garcia@example.com", "fname": "Maria", "lname": "Garcia",
        "organization": "Garcia Design LLC", "bus_phone": "+16175550199", "note": "X-Cart profile 311",
        "p_street": "12 Beacon St", "p_street2": "Suite 4", "p_city": "Boston", "p_province": "Massachusetts",
        "p_code": "02108", "p_country": "United States",
        "s_street": "77 Harbor Rd", "s_street2": "", "s_city": "Toronto", "s_province": "Ontario",
        "s_code": "M5J 2N8", "s_country": "Canada",
    }


def test_guest_order_to_client_uses_billing_for_shipping_when_absent():
    client = client_from_order(event("order_rest_addon.json").data)
    assert client["email"] == "yuki.tanaka@example.jp"
    assert (client["p_street"], client["p_street2"], client["p_province"], client["p_country"]) == (
        "1-1 Chiyoda", "Chiyoda-ku", "Tokyo", "Japan")
    assert client["s_city"] == "Tokyo"


def test_product_to_item():
    product = event("product.json").data
    assert item_from_product(product, load_rules(), "USD") == {
        "name": "Earl Grey, 100 g", "sku": "TEA-EG-100", "description": "Bergamot black tea",
        "unit_cost": {"amount": "12.0000", "code": "USD"}, "inventory": "240"}
    renamed = item_from_product(product, Rules(sku_overrides={"TEA-EG-100": ItemOverride(name="Earl Grey")}), "USD")
    assert renamed["name"] == "Earl Grey" and renamed["description"] == "Bergamot black tea"


def test_address_standardisation():
    assert country_name("gb") == ("United Kingdom", "GB")
    assert country_name("Atlantis") == ("Atlantis", "")
    assert state_name("US", "ny") == "New York"
    assert state_name("US", "ZZ") == "ZZ"
    address = standardise(Address(street="  5 Rue Cler \r\n 2e étage ", country_code="FR", zipcode="75007 ",
                                  city=" Paris"))
    assert (address.street, address.street2, address.city, address.code, address.country) == (
        "5 Rue Cler", "2e étage", "Paris", "75007", "France")
