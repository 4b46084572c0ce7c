"""Fixed vocabularies of the generator: names, categories and their weights, consent wording."""
from __future__ import annotations

from typing import Final

FIRST_NAMES: Final[tuple[str, ...]] = tuple("""
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra
Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin
Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey
Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Larry Pamela
Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander
Debra Frank Rachel Raymond Carolyn Patrick Janet Jack Maria Dennis Olivia Jerry Heather Tyler Diane
Aaron Julie Jose Joyce Adam Victoria Nathan Kelly Henry Christina Zachary Lauren Douglas Joan Peter
Evelyn Kyle Judith Noah Megan Ethan Andrea Jeremy Cheryl Walter Hannah Christian Jacqueline Keith Martha
Roger Gloria Terry Teresa Austin Ann Sean Sara Gerald Madison Carl Frances Harold Kathryn Dylan Janice
Arthur Jean Lawrence Abigail Jordan Alice Jesse Judy Bryan Sophia Billy Grace Bruce Denise Gabriel Amber
Joe Doris Logan Marilyn Alan Danielle Juan Beverly Albert Isabella Willie Theresa Elijah Diana Wayne
Natalie Randy Brittany Vincent Charlotte Mason Marie Roy Kayla Ralph Alexis Bobby Lori Russell Wei
Priya Mohammed Aisha Hiroshi Mei Carlos Sofia Luis Camila Miguel Valentina Diego Ximena Andre Keisha
Darnell Imani Tyrone Latoya Nguyen Linh Raj Ananya Omar Fatima Dmitri Olga Kwame Ama
""".split())

LAST_NAMES: Final[tuple[str, ...]] = tuple("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins
Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly
Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander
Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy
Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon
Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose
Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver
Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart
Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado
Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval
O'Brien O'Connor McCarthy Wang Li Zhang Liu Singh Kumar Shah Yamamoto Tanaka Kowalski Novak Ivanov
""".split())

# (value, weight) tables; weights are relative shares of clean leads.
LOAN_PURPOSES: Final = (("purchase", 0.55), ("refinance", 0.30), ("cash_out", 0.15))
LOAN_TYPES: Final[tuple[str, ...]] = ("conventional", "fha", "va", "jumbo", "usda")
PROPERTY_TYPES: Final = (("single_family", 0.64), ("condo", 0.14), ("townhouse", 0.09),
                         ("multi_family", 0.07), ("manufactured", 0.06))
TIMELINES: Final[tuple[str, ...]] = ("immediately", "1-3 months", "3-6 months", "6+ months")
TIMELINE_WEIGHTS_PURCHASE: Final = (0.15, 0.35, 0.30, 0.20)
TIMELINE_WEIGHTS_REFI: Final = (0.35, 0.40, 0.15, 0.10)
EMPLOYMENT: Final = (("employed", 0.71), ("self_employed", 0.15), ("retired", 0.08),
                     ("contract", 0.04), ("unemployed", 0.02))
# source -> (share of leads, lead cost range in USD, share with a consent certificate)
SOURCES: Final = {
    "website": (0.30, (0.0, 4.0), 0.2),
    "lending_tree": (0.20, (32.0, 60.0), 0.9),
    "zillow": (0.12, (40.0, 85.0), 0.9),
    "google_ads": (0.12, (15.0, 45.0), 0.7),
    "facebook_ads": (0.11, (8.0, 25.0), 0.7),
    "referral": (0.08, (0.0, 0.0), 0.0),
    "aged_vendor": (0.07, (0.5, 4.0), 0.5),
}
CONSENT_METHODS: Final = (("web_form", 0.80), ("phone", 0.15), ("paper", 0.05))
CONSENT_TEXTS: Final[tuple[str, ...]] = (
    "By clicking Submit, I agree that the lender and its partners may call and text me at the number "
    "provided, including by autodialer or prerecorded message, about mortgage offers. Consent is not a "
    "condition of purchase. Msg & data rates may apply.",
    "I consent to be contacted by phone, text and email, including with automated technology, by a "
    "licensed loan officer regarding my mortgage inquiry. I can revoke consent at any time.",
    "Yes, contact me at the phone number above about my loan request, even if it is on a Do Not Call list. "
    "Calls may be recorded. Consent not required to obtain a loan.",
)
# The seven tokens officers can specialise in; a lead's `segment` joins the tokens that apply to it.
SPECIALTIES: Final[tuple[str, ...]] = ("conventional", "fha", "va", "jumbo", "first_time_buyer", "subprime", "prime")
SPECIALTY_WEIGHTS: Final = (0.18, 0.18, 0.12, 0.12, 0.16, 0.10, 0.14)
# Protected attributes: categories loosely after HMDA reporting; NEVER inputs of the ground truth.
RACES: Final = (("white", 0.58), ("black", 0.12), ("asian", 0.06), ("hispanic_or_latino", 0.14),
                ("native_american", 0.01), ("pacific_islander", 0.005), ("two_or_more", 0.035),
                ("not_provided", 0.05))
SEXES: Final = (("female", 0.47), ("male", 0.49), ("not_provided", 0.04))
