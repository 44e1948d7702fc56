"""Code lists used on a child's record (DfE census codes where there is one)."""

from __future__ import annotations

from django.db import models


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Not known"


class DobCertainty(models.TextChoices):
    VERIFIED = "verified", "Verified (document seen)"
    REPORTED = "reported", "Reported, not verified"
    ESTIMATED = "estimated", "Estimated"


class SenProvision(models.TextChoices):
    EHC_PLAN = "E", "Education, health and care plan"
    SEN_SUPPORT = "K", "SEN support"
    NONE = "N", "No special educational need"


class AliasType(models.TextChoices):
    KNOWN_AS = "known_as", "Known as"
    PREVIOUS_NAME = "previous_name", "Previous name"
    ALTERNATIVE_SPELLING = "alternative_spelling", "Alternative spelling"
    OTHER = "other", "Other"


class Ethnicity(models.TextChoices):
    """DfE school census main ethnicity codes."""

    WBRI = "WBRI", "White - British"
    WIRI = "WIRI", "White - Irish"
    WIRT = "WIRT", "Traveller of Irish heritage"
    WOTH = "WOTH", "Any other White background"
    WROM = "WROM", "Gypsy / Roma"
    MWBC = "MWBC", "White and Black Caribbean"
    MWBA = "MWBA", "White and Black African"
    MWAS = "MWAS", "White and Asian"
    MOTH = "MOTH", "Any other mixed background"
    AIND = "AIND", "Indian"
    APKN = "APKN", "Pakistani"
    ABAN = "ABAN", "Bangladeshi"
    AOTH = "AOTH", "Any other Asian background"
    BCRB = "BCRB", "Black Caribbean"
    BAFR = "BAFR", "Black - African"
    BOTH = "BOTH", "Any other Black background"
    CHNE = "CHNE", "Chinese"
    OOTH = "OOTH", "Any other ethnic group"
    REFU = "REFU", "Refused"
    NOBT = "NOBT", "Information not yet obtained"


class VulnerableGroup(models.TextChoices):
    """The vulnerable groups recorded as flags on a child (domain README).

    Looked-after children are recorded by the child's in-care record, not by a flag.
    """

    YOUNG_OFFENDER = "young_offender", "Young offender"
    REFUGE = "refuge", "Living in a refuge"
    HOMELESS = "homeless", "Homeless family, temporary accommodation or B&B"
    RUNAWAY = "runaway", "Young runaway"
    MEDICAL = "medical", "Long-term medical or emotional problems"
    UASC = "uasc", "Unaccompanied asylum seeker"
    REFUGEE_FAMILY = "refugee_family", "Child of a refugee or asylum-seeking family"
    NO_FIXED_ADDRESS = "no_fixed_address", "New immigrant family without a fixed address"
    GRT = "grt", "Gypsy, Roma or Traveller background"
    PRIVATELY_FOSTERED = "privately_fostered", "Privately fostered"
    YOUNG_CARER = "young_carer", "Young carer"
    TRANSIENT = "transient", "Transient family"
    TEENAGE_MOTHER = "teenage_mother", "Teenage mother"
    PERMANENTLY_EXCLUDED = "permanently_excluded", "Permanently excluded"


class Relationship(models.TextChoices):
    MOTHER = "mother", "Mother"
    FATHER = "father", "Father"
    STEP_PARENT = "step_parent", "Step-parent"
    GRANDPARENT = "grandparent", "Grandparent"
    OTHER_RELATIVE = "other_relative", "Other relative"
    FOSTER_CARER = "foster_carer", "Foster carer"
    CORPORATE_PARENT = "corporate_parent", "Local authority (corporate parent)"
    OTHER = "other", "Other"


class SiblingRelationship(models.TextChoices):
    FULL = "full", "Brother or sister"
    HALF = "half", "Half-brother or half-sister"
    STEP = "step", "Step-brother or step-sister"
    TWIN = "twin", "Twin"
