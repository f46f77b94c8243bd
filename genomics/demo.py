"""The synthetic demo cohort: breast-cancer-like expression, clinical data, treatments and outcomes.

The demo cohort is what the app shows when no reference data are configured, and the ground truth that
tests use to check the treatment-effect engine. It needs no files: every gene symbol it uses is a constant
in this module (real HGNC symbols; fillers are MSigDB Hallmark genes).

Model, in short (all parameters are in :data:`GROUND_TRUTH_PARAMS` and in ``uns["oncotx"]["ground_truth"]``):

* A latent PAM50-like subtype sets the means of named expression programs (luminal/ER, proliferation,
  HER2 amplicon, basal, normal-like, immune, stromal, progesterone) and each gene loads on a few
  programs: ``X = baseline + programs @ loadings + noise`` (log2, float32, floor 2).
* Clinical features and ER/PR/HER2 status follow from the programs; treatment is assigned with
  confounding by indication.
* Competing risks: cancer death from a Weibull proportional-hazards model with heterogeneous treatment
  effects (log hazard ratios per patient), other-cause death from a Gompertz hazard on attained age with
  no treatment effect. Recurrence precedes cancer death. Administrative plus random censoring.
* ``obsm["true_survival"]`` holds the analytic survival of every patient under every regimen at 60 and
  120 months (``S`` all-cause, ``CSS`` cancer-specific); :func:`true_survival` gives any horizon.
"""
from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.spec import BREAST_CLINICAL, CohortSpec, Endpoint

log = logging.getLogger(__name__)

DEMO_COHORT_ID = "demo"
GENERATOR_VERSION = "1.0.0"

SUBTYPES: tuple[str, ...] = ("LumA", "LumB", "Her2", "Basal", "Normal")
TREATMENTS: tuple[str, ...] = ("chemotherapy", "hormone_therapy", "radio_therapy")
HORIZONS_MONTHS: tuple[int, ...] = (60, 120)
#: Expression programs (latent patient-level scores); ``gstm1_null`` is the common GSTM1 deletion genotype.
PROGRAMS: tuple[str, ...] = (
    "luminal", "proliferation", "her2_amplicon", "basal", "normal_like", "immune", "stromal",
    "progesterone", "gstm1_null", "nuisance_1", "nuisance_2",
)


def _regimens(treatments: tuple[str, ...]) -> tuple[str, ...]:
    names = ["none"]
    for k in range(1, len(treatments) + 1):
        names += ["+".join(combo) for combo in itertools.combinations(treatments, k)]
    return tuple(names)


#: The 8 regimens: treatment columns with value 1 joined by "+" (in ``TREATMENTS`` order), or "none".
REGIMENS: tuple[str, ...] = _regimens(TREATMENTS)

# ----------------------------------------------------------------------------------------------------
# Genes. Core genes carry hand-set program loadings; fillers (MSigDB Hallmark v7.5.1 genes, all current
# HGNC protein-coding symbols) load weakly on the program their Hallmark set belongs to.
# ----------------------------------------------------------------------------------------------------
PAM50_GENES: tuple[str, ...] = tuple(
    """
ACTR3B ANLN BAG1 BCL2 BIRC5 BLVRA CCNB1 CCNE1 CDC20 CDC6 NUF2 CDH3 CENPF CEP55 CXXC5 EGFR ERBB2 ESR1
EXO1 FGFR4 FOXA1 FOXC1 GPR160 GRB7 KIF2C NDC80 KRT14 KRT17 KRT5 MAPT MDM2 MELK MIA MKI67 MLPH MMP11
MYBL2 MYC NAT1 ORC6 PGR PHGDH PTTG1 RRM2 SFRP1 SLC39A6 TMEM45B TYMS UBE2C UBE2T
""".split()
)
#: Oncotype DX 21 genes (CTSL2 is CTSV today).
ONCOTYPE_GENES: tuple[str, ...] = tuple(
    """
MKI67 AURKA BIRC5 CCNB1 MYBL2 MMP11 CTSV GRB7 ERBB2 ESR1 PGR BCL2 SCUBE2 GSTM1 CD68 BAG1
ACTB GAPDH RPLP0 GUSB TFRC
""".split()
)
REFERENCE_GENES: tuple[str, ...] = ("ACTB", "GAPDH", "RPLP0", "GUSB", "TFRC")
LUMINAL_GENES: tuple[str, ...] = tuple(
    """
ESR1 PGR GATA3 FOXA1 XBP1 TFF1 TFF3 AGR2 AGR3 AR CA12 SPDEF KRT8 KRT18 KRT19 ERBB4 GREB1 MYB TBC1D9
ANKRD30A SCUBE2 NAT1 SLC39A6 MLPH
""".split()
)
HER2_AMPLICON_GENES: tuple[str, ...] = ("ERBB2", "GRB7", "STARD3", "PGAP3", "MIEN1", "PNMT", "TCAP", "PSMD3", "MED1")
PROLIFERATION_GENES: tuple[str, ...] = tuple(
    """
MKI67 AURKA BIRC5 CCNB1 MYBL2 AURKB TOP2A BUB1 BUB1B PLK1 CCNA2 CCNB2 CDK1 CDKN3 KIF20A KIF4A TPX2
MCM2 MCM10 FOXM1 E2F1 CENPA ZWINT MAD2L1 TTK DLGAP5 HMMR NUSAP1 PRC1 KIF11 KIF23 CDCA8 ASPM
""".split()
)
BASAL_GENES: tuple[str, ...] = tuple(
    """
KRT5 KRT14 KRT17 KRT6B KRT16 EGFR FOXC1 SOX10 EN1 ELF5 VGLL1 SOX9 VIM CDKN2A TP63 ROPN1B CDH3 MIA
""".split()
)
IMMUNE_GENES: tuple[str, ...] = tuple(
    """
PTPRC CD3E CD3D CD2 CD8A CD4 GZMB PRF1 CXCL9 CXCL10 CXCL13 CD19 MS4A1 CD79A LCK CCL5 CD68 CD163
HLA-DRA IDO1 LAG3 PDCD1 CD274 CTLA4 FOXP3 STAT1
""".split()
)
STROMAL_GENES: tuple[str, ...] = tuple(
    """
COL1A1 COL1A2 COL3A1 COL5A1 COL6A3 FAP POSTN SPARC FN1 DCN LUM PDGFRB ACTA2 THBS2 VCAN MMP2 CTHRC1
INHBA COL11A1 FBN1
""".split()
)
NORMAL_BREAST_GENES: tuple[str, ...] = ("ADIPOQ", "PLIN1", "LEP", "FABP4", "CFD", "LPL", "CD36", "OXTR")
OTHER_DRIVER_GENES: tuple[str, ...] = ("TP53", "PIK3CA", "PTEN", "CDH1", "BRCA1", "BRCA2", "MAP3K1", "RB1", "CCND1")

# Program loadings of the core genes (log2 units per unit of program score).
_L = dict  # short alias for the table below
_CORE_LOADINGS: dict[str, dict[str, float]] = {
    # PAM50
    "ACTR3B": _L(basal=0.6, normal_like=0.3),
    "ANLN": _L(proliferation=0.9),
    "BAG1": _L(luminal=0.5, proliferation=-0.3),
    "BCL2": _L(luminal=0.5, proliferation=-0.3, normal_like=0.3),
    "BIRC5": _L(proliferation=1.1),
    "BLVRA": _L(luminal=0.4, proliferation=0.3, normal_like=-0.3, basal=-0.3),
    "CCNB1": _L(proliferation=1.0),
    "CCNE1": _L(proliferation=0.7, basal=0.4),
    "CDC20": _L(proliferation=1.0),
    "CDC6": _L(proliferation=0.9),
    "NUF2": _L(proliferation=0.9),
    "CDH3": _L(basal=0.7, normal_like=0.6),
    "CENPF": _L(proliferation=0.9),
    "CEP55": _L(proliferation=1.0),
    "CXXC5": _L(luminal=0.6, basal=-0.4),
    "EGFR": _L(basal=0.4, normal_like=0.4, luminal=-0.2),
    "ERBB2": _L(her2_amplicon=1.2),
    "ESR1": _L(luminal=1.6),
    "EXO1": _L(proliferation=0.9),
    "FGFR4": _L(her2_amplicon=0.5, normal_like=0.3),
    "FOXA1": _L(luminal=1.1, basal=-0.6),
    "FOXC1": _L(basal=1.0, normal_like=0.4),
    "GPR160": _L(luminal=0.3, her2_amplicon=0.4, basal=-0.3),
    "GRB7": _L(her2_amplicon=1.1),
    "KIF2C": _L(proliferation=0.9),
    "NDC80": _L(proliferation=0.9),
    "KRT14": _L(basal=0.5, normal_like=1.2),
    "KRT17": _L(basal=0.7, normal_like=1.1),
    "KRT5": _L(basal=0.7, normal_like=1.1),
    "MAPT": _L(luminal=0.7, proliferation=-0.2),
    "MDM2": _L(luminal=0.15, normal_like=0.2),
    "MELK": _L(proliferation=1.0),
    "MIA": _L(basal=0.8, normal_like=0.8),
    "MKI67": _L(proliferation=0.9),
    "MLPH": _L(luminal=0.5, normal_like=0.2),
    "MMP11": _L(stromal=0.6, normal_like=-1.0, proliferation=0.2),
    "MYBL2": _L(proliferation=1.0),
    "MYC": _L(basal=0.4, normal_like=0.4, her2_amplicon=-0.3),
    "NAT1": _L(luminal=1.3),
    "ORC6": _L(proliferation=0.7),
    "PGR": _L(progesterone=1.2, luminal=0.3),
    "PHGDH": _L(basal=0.6, normal_like=0.4, luminal=-0.2),
    "PTTG1": _L(proliferation=0.9),
    "RRM2": _L(proliferation=1.0),
    "SFRP1": _L(basal=0.5, normal_like=1.3),
    "SLC39A6": _L(luminal=1.1),
    "TMEM45B": _L(luminal=0.2, her2_amplicon=0.6),
    "TYMS": _L(proliferation=0.8),
    "UBE2C": _L(proliferation=1.1),
    "UBE2T": _L(proliferation=0.9),
    # Oncotype DX extras
    "AURKA": _L(proliferation=1.0),
    "CTSV": _L(proliferation=0.4, stromal=0.3),
    "SCUBE2": _L(luminal=0.9),
    "GSTM1": _L(gstm1_null=-3.0, luminal=0.2),
    "CD68": _L(immune=0.7),
    "TFRC": _L(proliferation=0.2),
    # luminal
    "GATA3": _L(luminal=1.0), "XBP1": _L(luminal=0.9), "TFF1": _L(luminal=1.1), "TFF3": _L(luminal=1.0),
    "AGR2": _L(luminal=0.9), "AGR3": _L(luminal=0.9), "AR": _L(luminal=0.7), "CA12": _L(luminal=0.8),
    "SPDEF": _L(luminal=0.8), "KRT8": _L(luminal=0.4), "KRT18": _L(luminal=0.4), "KRT19": _L(luminal=0.4),
    "ERBB4": _L(luminal=0.6), "GREB1": _L(luminal=0.9), "MYB": _L(luminal=0.8), "TBC1D9": _L(luminal=0.9),
    "ANKRD30A": _L(luminal=0.8),
    # HER2 amplicon (17q12)
    "STARD3": _L(her2_amplicon=0.9), "PGAP3": _L(her2_amplicon=0.9), "MIEN1": _L(her2_amplicon=0.9),
    "PNMT": _L(her2_amplicon=0.5), "TCAP": _L(her2_amplicon=0.4), "PSMD3": _L(her2_amplicon=0.6),
    "MED1": _L(her2_amplicon=0.5),
    # basal / myoepithelial
    "KRT6B": _L(basal=0.9, normal_like=0.7), "KRT16": _L(basal=0.8, normal_like=0.6), "SOX10": _L(basal=0.9),
    "EN1": _L(basal=1.0), "ELF5": _L(basal=0.6, normal_like=0.6), "VGLL1": _L(basal=0.9),
    "SOX9": _L(basal=0.6), "VIM": _L(basal=0.5, stromal=0.5), "CDKN2A": _L(basal=0.8),
    "TP63": _L(normal_like=0.9, basal=0.3), "ROPN1B": _L(basal=1.0),
    # immune
    "PTPRC": _L(immune=0.9), "CD3E": _L(immune=0.9), "CD3D": _L(immune=0.9), "CD2": _L(immune=0.9),
    "CD8A": _L(immune=0.9), "CD4": _L(immune=0.6), "GZMB": _L(immune=0.8), "PRF1": _L(immune=0.8),
    "CXCL9": _L(immune=1.0), "CXCL10": _L(immune=0.9), "CXCL13": _L(immune=1.0), "CD19": _L(immune=0.6),
    "MS4A1": _L(immune=0.8), "CD79A": _L(immune=0.8), "LCK": _L(immune=0.8), "CCL5": _L(immune=0.9),
    "CD163": _L(immune=0.5, stromal=0.3), "HLA-DRA": _L(immune=0.7), "IDO1": _L(immune=0.8),
    "LAG3": _L(immune=0.7), "PDCD1": _L(immune=0.6), "CD274": _L(immune=0.5), "CTLA4": _L(immune=0.6),
    "FOXP3": _L(immune=0.6), "STAT1": _L(immune=0.6, proliferation=0.2),
    # stroma (cancer-associated fibroblasts)
    "COL1A1": _L(stromal=1.0), "COL1A2": _L(stromal=1.0), "COL3A1": _L(stromal=1.0), "COL5A1": _L(stromal=0.9),
    "COL6A3": _L(stromal=0.8), "FAP": _L(stromal=0.9), "POSTN": _L(stromal=1.0), "SPARC": _L(stromal=0.8),
    "FN1": _L(stromal=0.8), "DCN": _L(stromal=0.7, normal_like=0.3), "LUM": _L(stromal=0.8),
    "PDGFRB": _L(stromal=0.7), "ACTA2": _L(stromal=0.6, normal_like=0.4), "THBS2": _L(stromal=0.9),
    "VCAN": _L(stromal=0.8), "MMP2": _L(stromal=0.8), "CTHRC1": _L(stromal=0.9), "INHBA": _L(stromal=0.8),
    "COL11A1": _L(stromal=1.1), "FBN1": _L(stromal=0.7),
    # normal breast (adipose, myoepithelium)
    "ADIPOQ": _L(normal_like=1.3), "PLIN1": _L(normal_like=1.2), "LEP": _L(normal_like=1.0),
    "FABP4": _L(normal_like=1.2), "CFD": _L(normal_like=1.0), "LPL": _L(normal_like=0.9),
    "CD36": _L(normal_like=0.9), "OXTR": _L(normal_like=0.8),
    # drivers
    "TP53": _L(basal=0.2), "PIK3CA": _L(luminal=0.2), "PTEN": _L(basal=-0.3), "CDH1": _L(luminal=0.2),
    "BRCA1": _L(basal=-0.2), "BRCA2": _L(proliferation=0.3), "MAP3K1": _L(luminal=0.2), "RB1": _L(basal=-0.4),
    "CCND1": _L(luminal=0.4),
}
del _L

_FILLER_PROLIFERATION = """
ABL1 AK2 AMD1 ANP32E ARID4A ASF1A ASF1B ATAD2 ATF5 ATRX BARD1 BCL3 BRMS1L BUB3 CASP8AP2 CBX1
CBX5 CCNF CCNT1 CCP110 CDC25A CDC25B CDC27 CDC45 CDC7 CDCA3 CDK4 CDKN1A CDKN1B CDKN2C CENPE
CENPM CHAF1A CHEK1 CHEK2 CHMP1A CIT CKS1B CKS2 CNOT9 CSE1L CTCF CTPS1 CUL1 CUL3 CUL4A CUL5 DBF4
DCK DCLRE1B DCTPP1 DDX39A DEK DEPDC1 DIAPH3 DKC1 DMD DNMT1 DONSON DR1 DSCC1 DTYMK DUT E2F2 E2F3
E2F4 E2F8 EED EFNA5 EGF EIF2S1 ESPL1 EWSR1 EXOSC8 EZH2 FANCC FBXO5 FOXN3 G3BP1 GINS1 GINS2 GINS3
GINS4 GSPT1 H2AX H2AZ1 H2AZ2 H2BC12 HELLS HIF1A HIRA HMGA1 HMGB2 HMGB3 HMGN2 HNRNPD HNRNPU
HOXC10 HSPA8 HUS1 ILF3 INCENP ING3 IPO7 JPT1 KATNA1 KIF15 KIF18B KIF20B KIF22 KIF5B KMT5A KNL1
KPNA2 KPNB1 LBR LIG1 LIG3 LMNB1 LUC7L3 LYAR MAP3K20 MAPK14 MARCKS MCM3 MCM4 MCM5 MCM6 MCM7 MEIS1
MEIS2 MLH1 MMS22L MNAT1 MRE11 MSH2 MT2A MTF2 MTHFD2 MXD3 NAA38 NAP1L1 NASP NBN NCAPD2 NCL NEK2
NME1 NOLC1 NOP56 NOTCH2 NSD2 NUDT21 NUMA1 NUP107 NUP153 NUP205 NUP50 NUP98 ODC1 ODF2 ORC2 ORC5
PA2G4 PAFAH1B1 PAICS PAN2 PBK PCNA PDS5B PHF5A PLK4 PML PMS2 PNN POLA2 POLD1 POLD2 POLD3 POLE
POLE4 POLQ POP7 PPM1D PPP1R8 PRDX4 PRIM2 PRKDC PRMT5 PRPF4B PRPS1 PSIP1 PSMC3IP PURA RACGAP1
RAD1 RAD21 RAD50 RAD51AP1 RAD51C
"""
_FILLER_ESTROGEN = """
ABAT ABCA3 ABHD2 ABLIM1 ACOX2 ADCY1 ADCY9 ADD3 AFF1 AKAP1 ALDH3A2 ALDH3B1 AMFR ANXA9 AQP3 AREG
ARL3 ASB13 ASCL1 ASS1 ATP2B4 B4GALT1 BATF BCL11B BHLHE40 BLVRB BTG3 CA2 CACNA2D2 CALB2 CALCR
CANT1 CAV1 CBFA2T3 CCN5 CCNA1 CD44 CD9 CELSR1 CELSR2 CHPT1 CHST8 CISH CKB CLDN7 CLIC3 COX6C CPE
CXCL12 CXCL14 CYP26B1 CYP4F11 DCXR DEPTOR DHCR7 DHRS2 DHRS3 DLC1 DLG5 DNAJC1 DNAJC12 DUSP2
DYNLT3 EGR3 ELF1 ELF3 ELOVL2 ELOVL5 EMP2 ENDOD1 ESRP2 ETFB FABP5 FAM102A FARP1 FASN FCMR FDFT1
FGFR3 FHL2 FKBP4 FKBP5 FLNB FOS FRK GAB2 GAL GALE GFRA1 GFUS GJA1 GJB3 GLA GPER1 HES1 HMGCS2
HOMER2 HPRT1 HR HSPA4L HSPB8 ID2 IDH2 IGF1R IGFBP4 IGSF1 IL17RB IL6ST IMPA2 INHBB INPP5F ISG20
ISG20L2 ITPK1 JAK1 JAK2 KAZN KCNK15 KCNK5 KDM4B KLF10 KLF4 KLK10 KLK11 KRT13 KRT15 LAD1 LAMC2
LARGE1 LLGL2 LRIG1 LSR LTF MAPK13 MAST4 MDK MED13L MED24 MEST METTL3 MICB MINDY1 MOCS2 MPPED2
MREG MSMB MUC1 MYBBP1A MYBL1 MYOF NAB2 NADSYN1 NAV2 NBL1 NCOR2 NMU NPY1R NRIP1 NXT1 OLFM1 OLFML3
OPN3 OVOL2 P2RY2 PAPSS2 PCP4 PDCD4 PDLIM3 PDZK1 PERP PEX11A PKP3 PLAAT3 PLAC1 PMAIP1 PODXL PPIF
PRSS23 PTGES RAB17
"""
_FILLER_IMMUNE = """
AARS1 ABCA1 ABCE1 ABI1 ACHE ACVR1B ACVR2A ADAR ADGRE1 ADM ADORA2B ADRM1 AHR AKT1 APBB1 APLNR
APOL6 AQP9 ARID5B ARL4A ATP2A2 ATP2B1 ATP2C1 AUTS2 AXL B2M BANK1 BATF2 BCAT1 BCL10 BDKRB1 BEST1
BPGM BST2 BTG1 BTG2 C1R C1S C2 C3AR1 C5AR1 CALCRL CAPG CARTPT CASP1 CASP3 CASP4 CASP7 CASP8
CCL11 CCL13 CCL17 CCL19 CCL2 CCL20 CCL22 CCL24 CCL4 CCL7 CCND2 CCND3 CCR1 CCR2 CCR5 CCR7 CCRL2
CD14 CD1D CD247 CD28 CD38 CD3G CD40 CD40LG CD47 CD48 CD55 CD69 CD7 CD70 CD74 CD80 CD82 CD86 CD8B
CD96 CFB CFH CFP CHST2 CIITA CLEC5A CMKLR1 CMPK2 CMTR1 CRTAM CSF1 CSF2RB CSF3 CSF3R CSK CTSS
CX3CL1 CXCL11 CXCL6 CXCL8 CXCR3 CXCR6 CYBB DARS1 DCBLD2 DDX60 DEGS1 DHX58 DYRK3 EBI3 EDN1
EIF2AK2 EIF3A EIF3D EIF3J EIF4E3 EIF4G3 EIF5A ELANE ELF4 EMP3 EPSTI1 EREG ETS1 F2 F2R F3 FAS
FASLG FCGR1A FCGR2B FFAR2 FGL2 FGR FLNA FPR1 FZD5 GABBR1 GBP4 GBP6 GCH1 GNA15 GNAI3 GP1BA GPC3
GPR132 GPR18 GPR183 GZMA HAS2 HBEGF HELZ2 HERC6 HLA-A HLA-B HLA-DMA HLA-DQA1 HLA-DRB1 HLA-G HPN
HRH1 ICAM1 IFI27 IFI30 IFI35 IFI44 IFI44L IFIH1 IFIT1 IFIT2 IFIT3 IFITM2 IFITM3 IFNAR2
"""
_FILLER_STROMAL = """
A2M ABI3BP ADAM12 ADAM9 ANG ANPEP ANXA1 APLP1 APOA1 APOC1 APOC2 APOC3 APOH APP ARF4 BASP1 BDNF
BGN BMP1 C1QA C3 C8A C8B C8G C9 CADM1 CALD1 CALU CAP2 CAPN2 CAPN5 CASP9 CCN1 CCN2 CD59 CDH11
CDH2 CDH6 CFI CLU COL12A1 COL16A1 COL4A1 COL4A2 COL5A2 COL5A3 COL6A2 COL7A1 COL8A2 COLGALT1 COMP
COPA CPB2 CPN1 CPQ CRIP2 CRLF1 CSRP1 CTSB CTSE CTSH CTSK CTSO CXCL1 DAB2 DCT DKK1 DPP4 DPYSL3
DST DUSP14 DUSP6 ECM1 ECM2 EDIL3 EFEMP2 ELN ENO2 F10 F11 F12 F13B F2RL2 F8 F9 FBLN1 FBLN2 FBLN5
FBN2 FERMT2 FGA FGF2 FGFR1 FGG FMOD FOXC2 FSTL1 FSTL3 FUCA1 FURIN FYN FZD8 GADD45A GADD45B GAS1
GDA GEM GLIPR1 GNB2 GNG12 GP9 GPC1 GSN HNF4A HRG HTRA1 ISCU ITGA2 ITGAV ITGB3 ITIH1 JAG1 JAG2
KCNJ8 KLF7 KLK8 KLKB1 LAMP2 LEFTY2 LGMN LRPAP1 MSX1 NRP1 OLR1 PDGFA PF4 PGLYRP1 PRG2 PTK2 S100A4
SERPINA5 SLCO2A1 SPP1 STC1 THBD TIMP1 TNFRSF21 VAV2 VEGFA VTN
"""
_FILLER_ADIPOSE = """
AADAT ABCB8 ACAA1 ACAA2 ACADL ACADM ACADS ACADVL ACAT2 ACLY ACO2 ACOT2 ACOT8 ACOX1 ACSL1 ACSL4
ACSL5 ACSM3 ACSS1 ADCY6 ADH1C ADH7 ADIG ADIPOR2 ADSL AGPAT3 AIFM1 ALAD ALDH1A1 ALDH2 ALDH3A1
ALDH9A1 ALDOA ANGPT1 ANGPTL4 AOC3 APEX1 APLP2 APOE AQP7 ARAF ATL2 ATP1B3 ATP5PO AUH BAZ2A BCKDHA
BCKDHB BCL2L13 BCL6 BMPR1B BPHL CA4 CA6 CAT CAVIN1 CAVIN2 CBR1 CBR3 CCNG2 CD151 CD302 CEL
CHCHD10 CHUK CIDEA CMBL CMPK1 COL15A1 COQ3 COQ5 COQ9 COX6A1 COX7B COX8A CPOX CPT1A CPT2 CRAT
CRYZ CS CYC1 CYP1A1 CYP4A11 CYP4A22 CYP4B1 D2HGDH DBT DDT DECR1 DGAT1 DHCR24 DHRS7 DHRS7B DLAT
DLD DLST DNAJB9 DNAJC15 DRAM2 ECH1 ECHS1 ECI1 ECI2 EHHADH ELMOD3 ELOVL6 ENO3 ENPP2 EPHX1 EPHX2
ERP29 ETFDH FABP1 FABP2 FH FMO1 G0S2 GABARAPL1 GAD2
"""
_FILLER_OTHER = """
AAAS ABCA2 ABCB1 ABCB4 ABCB6 ABCB7 ABCB9 ABCC2 ABCC3 ABCC5 ABCC8 ABCD1 ABCD2 ABCD3 ABCF2 ABCG2
ABHD4 ABHD6 ACACA ACADSB ACAT1 ACKR1 ACKR3 ACOX3 ACP1 ACP2 ACP5 ACSL3 ACSL6 ACSM1 ACSS2 ACTA1
ACTC1 ACTG1 ACTG2 ACTN1 ACTN2 ACTN3 ACTN4 ACTR2 ACTR3 ADA ADAM10 ADAM15 ADAM23 ADAMTS5 ADD1 ADD2
ADH4 ADH5 ADIPOR1 ADRA1B AEN AFG3L2 AGO4 AGPAT4 AHCY AHSP AK1 AK3 AK4 AKAP12 AKR1C2 AKR1C3 AKT2
AKT3 ALAS1 ALAS2 ALB ALCAM ALDH18A1 ALDH1L1 ALDH6A1 ALDOB ALDOC ALOX15B ALYREF AMH AMIGO1 AMIGO2
AMPD3 ANGPTL3 ANK1 ANKRA2 ANKZF1 ANTXR2 ANXA13 ANXA2 ANXA5 AOX1 AP1G1 AP2B1 AP2M1 AP2S1 AP3B1
AP3S1 AP4B1 APAF1 APRT ARCN1 ARF1 ARFGAP1 ARFGAP3 ARFGEF1 ARFGEF2 ARFIP1 ARG1 ARG2 ARHGEF12
ARHGEF6 ARL2BP ARL6IP1 ARPC2 ARPC5L ARPP19 ASL ASNS ATF3 ATF4 ATF6 ATG4A ATOH8 ATP1A1 ATP1A3
ATP1B1 ATP5F1A ATP5F1B ATP5F1C ATP5F1D ATP5F1E ATP5MC1 ATP5MC2 ATP5MC3 ATP5ME ATP5MF ATP5MG
ATP5PB ATP5PD ATP5PF ATP6AP1 ATP6V0A1 ATP6V0B ATP6V0C ATP6V0D1 ATP6V0E1 ATP6V1B1 ATP6V1C1
ATP6V1D ATP6V1E1 ATP6V1F ATP6V1G1 ATP6V1H ATP7A ATXN1 ATXN2 AVPR1A B3GALT6 B4GALNT2 BACH1 BAG3
BAIAP2 BAK1 BANF1 BAX BCAM BCAN BCAP31 BCAR1 BDH2 BET1 BLCAP BMP2 BMP2K BNIP3 BNIP3L BOLA2 BRF2
BRS3 BSG BTRC CA1 CACNA1B CACYBP CADM2 CADM3 CALR CANX CAP1 CASP6 CAST CAV2 CAVIN3 CBS CCDC28A
CCL25 CCNG1 CCNK CCNO CCT6A CD209 CD276 CD34 CD63 CD81 CD99 CDA CDH13 CDH15 CDH4 CDH8 CDK5R1
CDK7 CDK8 CDKN1C CDKN2AIP CDKN2B CDO1 CDR2 CDSN CEBPA CEBPB CEBPG CERCAM CES1 CETN2 CGRRF1 CHAC1
CHKA CHST3 CIR1 CITED2 CLCA2 CLCN3 CLDN11 CLDN14 CLDN15 CLDN18 CLDN19 CLDN4 CLDN5 CLIC2 CLN5
CLN6 CLN8 CLP1 CLTA CLTC CNBP CNDP2 CNOT2 CNOT4 CNOT6 COG2 COMT COPB1 COPB2 COPE COPS5 COQ8A
CORO1A COX10 COX11 COX15 COX17 COX4I1 COX5A COX5B COX6B1 COX7A2 COX7A2L CP CPEB2 CRABP1 CRABP2
CROT CRP CSAD CSRNP2 CSRP2 CSTF3 CTBP1 CTH CTNNB1 CTNS CTSC CTSD CTSF CXCL16 CXCR4 CXXC1 CYB5A
CYB5B CYFIP2 CYP51A1 DAAM1 DAD1 DAPP1 DCAF10 DCAF11 DCP1A DCP2 DCTN1 DCTN4 DCUN1D1 DDB1 DDB2
DDIT3 DDIT4 DDX10 DEF6 DGCR8 DGKA DGUOK DHFR DIO1 DLG4 DMTN DNAJA4 DNAJC3 DNM1L DNTTIP2 DOP1A
DPYSL4 DRAM1 DTNA DUSP1 EBP EDC4 EDEM1 EDF1 EDN2 EEF1E1 EEF2 EFNA1 EFNA3 EGLN3 EI24 EIF1B
EIF2AK3 EIF2S2 EIF4A1 EIF4A2 EIF4A3 EIF4E EIF4EBP1 EIF4G1 ELL ELOA ELP1 ENO1 EPHA2 EPRS1 EPS8L2
ERCC1 ERCC2 ERCC3 ERCC4 ERCC5 ERCC8 ERGIC3 ERN1 ERO1A ERRFI1 ESR2 ETHE1 EXOC2 EXOSC1 EXOSC10
EXOSC2 EXOSC4 EXOSC5 EXOSC9 FABP6 FADS1 FADS2 FBXO6 FDPS FEN1 FIS1 FKBP14 FUS GALC GBF1 GEMIN4
GLDC GMPR2 GNAI1 GNAS GNPAT GOLGA4 GOSR2 GPX4 GPX8 GSDME GSTK1 GSTM2 GTF2A2 GTF2B GTF2F1 GTF2H1
GTF2H3 GTF2H5 GTF3C5 GUK1 HAO2 HCLS1 HERPUD1 HMGCL HMGCR HMGCS1 HRAS HSD17B7 ICA1 IDI1 IGF2R
IMPDH2 KIF1B LDLR LGALS3 LMAN1 LSS M6PR MAL2 MAPK1 MON2 MVD MVK NAPA NFIL3 NIBAN1
"""


def _split_genes(block: str) -> tuple[str, ...]:
    return tuple(block.split())


#: Filler genes by the program their Hallmark set belongs to ("other" load on nuisance programs only).
FILLER_GENES: dict[str, tuple[str, ...]] = {
    "proliferation": _split_genes(_FILLER_PROLIFERATION),
    "luminal": _split_genes(_FILLER_ESTROGEN),
    "immune": _split_genes(_FILLER_IMMUNE),
    "stromal": _split_genes(_FILLER_STROMAL),
    "normal_like": _split_genes(_FILLER_ADIPOSE),
    "other": _split_genes(_FILLER_OTHER),
}
_FILLER_LOADING_RANGE: dict[str, tuple[float, float]] = {
    "proliferation": (0.25, 0.7),
    "luminal": (0.2, 0.6),
    "immune": (0.3, 0.8),
    "stromal": (0.3, 0.8),
    "normal_like": (0.2, 0.7),
}


def _build_gene_table() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """All genes in output order and the group of each: core genes first, then fillers interleaved."""
    core: list[str] = []
    for group in (
        PAM50_GENES, ONCOTYPE_GENES, LUMINAL_GENES, HER2_AMPLICON_GENES, PROLIFERATION_GENES, BASAL_GENES,
        IMMUNE_GENES, STROMAL_GENES, NORMAL_BREAST_GENES, OTHER_DRIVER_GENES,
    ):
        core += [g for g in group if g not in core]
    genes, groups = list(core), ["core"] * len(core)
    seen = set(core)
    # Round-robin across filler groups so that any prefix (any n_genes) mixes all programs.
    for row in itertools.zip_longest(*FILLER_GENES.values()):
        for group, gene in zip(FILLER_GENES, row, strict=True):
            if gene is not None and gene not in seen:
                genes.append(gene)
                groups.append(group)
                seen.add(gene)
    return tuple(genes), tuple(groups)


ALL_GENES, _GENE_GROUPS = _build_gene_table()
CORE_GENES: tuple[str, ...] = ALL_GENES[: _GENE_GROUPS.count("core")]
MIN_GENES = len(CORE_GENES)
MAX_GENES = len(ALL_GENES)

# ----------------------------------------------------------------------------------------------------
# Simulation parameters (JSON-serialisable; copied into uns["oncotx"]["ground_truth"]).
# ----------------------------------------------------------------------------------------------------
_PROGRAM_MEANS = {  # subtype -> program -> mean score (within-subtype sd in _PROGRAM_SD)
    "LumA": {"luminal": 1.6, "proliferation": -0.7, "basal": -0.4, "normal_like": -0.5, "immune": -0.2, "stromal": 0.2},
    "LumB": {"luminal": 1.3, "proliferation": 0.7, "basal": -0.7, "normal_like": -1.2, "immune": -0.1, "stromal": -0.3},
    "Her2": {"luminal": -0.9, "proliferation": 0.6, "basal": -0.6, "normal_like": -0.6, "immune": 0.4, "stromal": 0.0},
    "Basal": {"luminal": -2.0, "proliferation": 1.0, "basal": 2.0, "normal_like": 0.3, "immune": 0.6, "stromal": -0.2},
    "Normal": {"luminal": -0.4, "proliferation": -1.0, "basal": 0.3, "normal_like": 1.6, "immune": -0.2, "stromal": 0.3},
}
_PROGRAM_SD = {"luminal": 0.5, "proliferation": 0.5, "basal": 0.5, "normal_like": 0.5, "immune": 0.8, "stromal": 0.7}

GROUND_TRUTH_PARAMS: dict[str, Any] = {
    "time_unit": "months",
    "subtypes": {
        "probabilities": {"LumA": 0.38, "LumB": 0.25, "Her2": 0.11, "Basal": 0.16, "Normal": 0.10},
        "program_means": _PROGRAM_MEANS,
        "program_sd": _PROGRAM_SD,
        "her2_amplification_probability": {"LumA": 0.03, "LumB": 0.14, "Her2": 0.85, "Basal": 0.03, "Normal": 0.03},
        "her2_amplicon": "her2_amplicon = 2.4 * amplified + N(0, 0.35)",
        "progesterone": "progesterone = 0.8 * luminal + N(0, 0.6)",
        "gstm1_null": "Bernoulli(0.5) (GSTM1 deletion genotype, lowers GSTM1 by 3 log2 units)",
        "nuisance": "two N(0, 1) programs that drive only filler genes and never the outcome",
    },
    "expression": {
        "model": "X = baseline + programs @ loadings + noise_sd * N(0, 1), clipped to [2, 15] (log2)",
        "baseline": "core genes U(6, 9), reference genes U(11.5, 13.5), fillers U(4.5, 10.5)",
        "noise_sd": "core genes U(0.25, 0.45), reference genes 0.15, fillers U(0.2, 0.6)",
        "core_loadings": _CORE_LOADINGS,
        "filler_loading_range": {k: list(v) for k, v in _FILLER_LOADING_RANGE.items()},
        "filler_cross_loading_sd": 0.05,
        "other_filler_nuisance_loading_sd": 0.3,
    },
    "clinical": {
        "age_at_diagnosis": "61 + shift[subtype] + 12.5 * N(0, 1), clipped to [24, 95] years",
        "age_shift": {"LumA": 2.0, "LumB": 2.0, "Her2": -4.0, "Basal": -7.0, "Normal": -2.0},
        "menopausal_state": "Post with probability sigmoid((age - 50.5) / 1.8)",
        "tumor_size_mm": "exp(log(22) + 0.12 proliferation + 0.08 basal + 0.45 N(0,1)), rounded, clipped [2, 180]",
        "grade": "1 + [g > -1.45] + [g > 0.0], g = proliferation + 0.6 N(0, 1)",
        "grade_cuts": [-1.45, 0.0],
        "lymph_nodes_positive": "0 with prob 1 - sigmoid(-0.25 + 1.0 log(size/22) + 0.25 proliferation); "
        "else 1 + NegBin(n=0.9, mean 2.5), at most 45",
        "er_status": "Positive iff luminal + 0.3 N(0,1) > -0.7",
        "pr_status": "Positive iff progesterone + 0.3 N(0,1) > 0.45",
        "her2_status": "Positive iff her2_amplicon + 0.3 N(0,1) > 1.3",
    },
    "treatment_assignment": {
        "chemotherapy": {
            "intercept": -2.7, "age_minus_60": -0.07, "node_positive": 0.9, "nodes_capped_10": 0.08,
            "grade_3": 0.6, "er_negative": 1.1, "her2_positive": 0.5, "log_size_over_22": 0.5,
        },
        "hormone_therapy": {"er_positive_intercept": 1.3, "er_negative_intercept": -2.2, "age_minus_60": 0.02,
                            "node_positive": 0.5},
        "radio_therapy": {"intercept": 0.35, "node_positive": 0.5, "age_minus_60": -0.02, "chemotherapy": 0.3,
                          "log_size_over_22": -0.3},
        "link": "logistic; each treatment a Bernoulli draw given the patient's features (and chemotherapy for radio)",
    },
    "cancer_death": {
        "model": "Weibull PH: H_c(t) = scale[ER] * (t / 120)^shape[ER] * exp(lp + loghr(regimen)), t in months",
        "scale": {"Positive": 0.30, "Negative": 0.33},
        "shape": {"Positive": 1.0, "Negative": 0.7},
        "lp": {
            "proliferation": 0.45, "log1p_nodes": 0.40, "log_size_over_22": 0.30, "grade_minus_2": 0.15,
            "immune_if_er_negative": -0.30, "immune_if_er_positive": -0.05, "stromal": 0.10, "age_under_40": 0.30,
            "subtype": {"LumA": 0.0, "LumB": 0.25, "Her2": 0.35, "Basal": 0.20, "Normal": 0.10},
        },
    },
    "treatment_effects": {
        "rule": "loghr(regimen) = sum of the log hazard ratios of the treatments given; they act on the "
        "cancer-specific hazard only (and on recurrence), never on other-cause death",
        "hormone_therapy": {
            "rule": "0 if er_status is Negative; else -(base + luminal_subtype * [subtype in LumA, LumB] "
            "+ luminal_score * clip(luminal, 0, 2))",
            "base": 0.25, "luminal_subtype": 0.20, "luminal_score": 0.10,
        },
        "chemotherapy": {
            "rule": "min(0, subtype[subtype] + proliferation * clip(proliferation, -1, 2) + er_negative * [ER-])",
            "subtype": {"LumA": -0.05, "LumB": -0.15, "Her2": -0.35, "Basal": -0.30, "Normal": -0.10},
            "proliferation": -0.12, "er_negative": -0.10,
        },
        "radio_therapy": {"rule": "base + node_positive * [nodes > 0]", "base": -0.10, "node_positive": -0.10},
    },
    "scenarios": {
        "guideline": "the default: the treatment effects above (they roughly follow the clinical guidelines)",
        "linear": "loghr linear in observed features: chemotherapy -0.30 - 0.20 proliferation + 0.15 luminal "
        "+ 0.10 (age - 60) / 10; hormone_therapy -0.15 - 0.25 luminal; radio_therapy -0.10 - 0.10 log1p(nodes) "
        "+ 0.05 (age - 60) / 10",
        "nonlinear": "thresholds and interactions: chemotherapy -0.55 [proliferation > 0.5][ER-] "
        "- 0.30 [proliferation > 0.5][ER+][nodes >= 4] + 0.20 [age > 70]; hormone_therapy "
        "-0.55 sigmoid(3 (luminal - 1)); radio_therapy -0.30 [nodes >= 1][size > 30 mm]",
        "weak": "the guideline effects times 0.3",
        "gene_driven": "effects set by programs no guideline uses: chemotherapy 0.15 - 0.90 sigmoid(2.5 immune) "
        "(immune-cold tumours are harmed, immune-hot ones gain); hormone_therapy -0.60 [ER+] "
        "(1 - sigmoid(3 (proliferation - 0.5))); radio_therapy 0.05 - 0.45 [nuisance_1 > 0.3]",
        "confounded": "the guideline effects plus an unmeasured frailty U ~ N(0, 1) that raises the cancer hazard "
        "(+0.6 U) and lowers the odds of chemotherapy (-1.0 U): no recorded feature or gene carries U",
    },
    "other_cause_death": {
        "model": "Gompertz on attained age: h(a) = exp(log_h70 + slope * (a - 70)) per year",
        "log_h70": float(np.log(0.030)), "slope": 0.095,
    },
    "recurrence": {
        "fatal": "every cancer death time T_c is preceded by a recurrence at T_c * Beta(3, 2)",
        "non_fatal": "extra recurrences with cumulative hazard 0.3 * H_c(t) under the received regimen",
        "non_fatal_fraction": 0.3, "beta": [3.0, 2.0],
        "rfs_event": "recurrence observed before death and censoring (death without recurrence censors RFS)",
    },
    "censoring": {
        "administrative": "U(96, 330) months", "administrative_range": [96.0, 330.0],
        "random": "exponential, rate 0.002 per month", "random_rate": 0.002,
    },
    "true_survival": "S<h>_<regimen> = exp(-H_c(h) - H_o(h)); CSS<h>_<regimen> = exp(-H_c(h)); h in months",
}


def demo_spec() -> CohortSpec:
    """The CohortSpec of the synthetic demo cohort."""
    return CohortSpec(
        id=DEMO_COHORT_ID,
        name="Synthetic demo cohort",
        licence="CC0 (synthetic, generated by OncoTx)",
        attribution="Synthetic data generated by OncoTx (genomics/demo.py); no real patient is behind any row.",
        platform="synthetic log2 microarray-like",
        scale="log",
        endpoints=(
            Endpoint("OS", "os_months", "os_event", "months", "Overall survival: death from any cause."),
            Endpoint("DSS", "os_months", "dss_event", "months",
                     "Disease-specific survival: death from breast cancer (other deaths censored)."),
            Endpoint("RFS", "rfs_months", "rfs_event", "months",
                     "Recurrence-free interval: first recurrence (death without recurrence censors)."),
        ),
        treatments=TREATMENTS,
        clinical=BREAST_CLINICAL,
        subtype_col="subtype",
        synthetic=True,
        notes="Simulated cohort with a known treatment-effect ground truth (obsm['true_survival']). "
        "Not for clinical use.",
        extra={"generator_version": GENERATOR_VERSION},
    )


# ----------------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _gene_parameters(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline, noise sd and loadings (programs x genes) for all ``ALL_GENES`` (fixed for a seed)."""
    n, k = len(ALL_GENES), len(PROGRAMS)
    groups = np.array(_GENE_GROUPS)
    is_core = groups == "core"
    is_ref = np.isin(np.array(ALL_GENES), REFERENCE_GENES)
    base = np.where(is_core, rng.uniform(6.0, 9.0, n), rng.uniform(4.5, 10.5, n))
    base = np.where(is_ref, rng.uniform(11.5, 13.5, n), base)
    sd = np.where(is_core, rng.uniform(0.25, 0.45, n), rng.uniform(0.2, 0.6, n))
    sd = np.where(is_ref, 0.15, sd)
    loadings = np.zeros((k, n))
    index = {p: i for i, p in enumerate(PROGRAMS)}
    cross = rng.normal(0.0, 0.05, (k, n))
    main = rng.uniform(0.0, 1.0, n)
    nuisance = rng.normal(0.0, 0.3, (2, n))
    for j, (gene, group) in enumerate(zip(ALL_GENES, _GENE_GROUPS, strict=True)):
        if group == "core":
            for program, value in _CORE_LOADINGS.get(gene, {}).items():
                loadings[index[program], j] = value
            continue
        loadings[: index["progesterone"], j] = cross[: index["progesterone"], j]
        if group == "other":
            loadings[index["nuisance_1"], j], loadings[index["nuisance_2"], j] = nuisance[:, j]
        else:
            lo, hi = _FILLER_LOADING_RANGE[group]
            loadings[index[group], j] += lo + (hi - lo) * main[j]
    return base, sd, loadings


def _programs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent subtype codes (n,) and program scores (n, len(PROGRAMS))."""
    sub = GROUND_TRUTH_PARAMS["subtypes"]
    probs = np.array([sub["probabilities"][s] for s in SUBTYPES])
    subtype = rng.choice(len(SUBTYPES), size=n, p=probs / probs.sum())
    z = np.zeros((n, len(PROGRAMS)))
    index = {p: i for i, p in enumerate(PROGRAMS)}
    for program, sd in _PROGRAM_SD.items():
        means = np.array([_PROGRAM_MEANS[s][program] for s in SUBTYPES])
        z[:, index[program]] = means[subtype] + sd * rng.standard_normal(n)
    p_amp = np.array([sub["her2_amplification_probability"][s] for s in SUBTYPES])
    amplified = rng.random(n) < p_amp[subtype]
    z[:, index["her2_amplicon"]] = 2.4 * amplified + 0.35 * rng.standard_normal(n)
    z[:, index["progesterone"]] = 0.8 * z[:, index["luminal"]] + 0.6 * rng.standard_normal(n)
    z[:, index["gstm1_null"]] = rng.random(n) < 0.5
    z[:, index["nuisance_1"]] = rng.standard_normal(n)
    z[:, index["nuisance_2"]] = rng.standard_normal(n)
    return subtype, z


def _clinical(rng: np.random.Generator, subtype: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    n = len(subtype)
    p = {name: z[:, i] for i, name in enumerate(PROGRAMS)}
    cl = GROUND_TRUTH_PARAMS["clinical"]
    shift = np.array([cl["age_shift"][s] for s in SUBTYPES])
    age = np.clip(61.0 + shift[subtype] + 12.5 * rng.standard_normal(n), 24.0, 95.0).round(1)
    post = rng.random(n) < _sigmoid((age - 50.5) / 1.8)
    size = np.exp(np.log(22.0) + 0.12 * p["proliferation"] + 0.08 * p["basal"] + 0.45 * rng.standard_normal(n))
    size = np.clip(np.round(size), 2.0, 180.0)
    g = p["proliferation"] + 0.6 * rng.standard_normal(n)
    c1, c2 = cl["grade_cuts"]
    grade = 1 + (g > c1).astype(np.int64) + (g > c2).astype(np.int64)
    node_pos = rng.random(n) < _sigmoid(-0.25 + 1.0 * np.log(size / 22.0) + 0.25 * p["proliferation"])
    extra = rng.negative_binomial(0.9, 0.9 / (0.9 + 2.5), n)
    nodes = np.where(node_pos, np.minimum(1 + extra, 45), 0).astype(np.int64)
    er = p["luminal"] + 0.3 * rng.standard_normal(n) > -0.7
    pr = p["progesterone"] + 0.3 * rng.standard_normal(n) > 0.45
    her2 = p["her2_amplicon"] + 0.3 * rng.standard_normal(n) > 1.3
    return {"age": age, "post": post, "size": size, "grade": grade, "nodes": nodes, "er": er, "pr": pr, "her2": her2}


def _treatment_probabilities(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ta = GROUND_TRUTH_PARAMS["treatment_assignment"]
    age60, node_pos, log_size = c["age"] - 60.0, c["nodes"] > 0, np.log(c["size"] / 22.0)
    b = ta["chemotherapy"]
    chemo = _sigmoid(
        b["intercept"] + b["age_minus_60"] * age60 + b["node_positive"] * node_pos
        + b["nodes_capped_10"] * np.minimum(c["nodes"], 10) + b["grade_3"] * (c["grade"] == 3)
        + b["er_negative"] * ~c["er"] + b["her2_positive"] * c["her2"] + b["log_size_over_22"] * log_size
    )
    b = ta["hormone_therapy"]
    hormone = _sigmoid(
        np.where(c["er"], b["er_positive_intercept"], b["er_negative_intercept"])
        + b["age_minus_60"] * age60 + b["node_positive"] * node_pos
    )
    b = ta["radio_therapy"]
    radio_lp = (
        b["intercept"] + b["node_positive"] * node_pos + b["age_minus_60"] * age60 + b["log_size_over_22"] * log_size
    )
    return {"chemotherapy": chemo, "hormone_therapy": hormone, "radio_lp": radio_lp}


SCENARIOS: tuple[str, ...] = ("guideline", "linear", "nonlinear", "weak", "gene_driven", "confounded")
HIDDEN_CONFOUNDER = {"cancer_log_hazard": 0.6, "chemotherapy_logit": -1.0}


def _scenario_effects(scenario: str, effects: dict[str, np.ndarray], p: dict[str, np.ndarray],
                      c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Treatment log hazard ratios of a benchmark scenario (see GROUND_TRUTH_PARAMS["scenarios"])."""
    if scenario in ("guideline", "confounded"):
        return effects
    if scenario == "weak":
        return {k: 0.3 * v for k, v in effects.items()}
    age10, nodes = (c["age"] - 60.0) / 10.0, c["nodes"]
    if scenario == "linear":
        return {
            "chemotherapy": -0.30 - 0.20 * p["proliferation"] + 0.15 * p["luminal"] + 0.10 * age10,
            "hormone_therapy": -0.15 - 0.25 * p["luminal"],
            "radio_therapy": -0.10 - 0.10 * np.log1p(nodes) + 0.05 * age10,
        }
    if scenario == "nonlinear":
        high = p["proliferation"] > 0.5
        return {
            "chemotherapy": -0.55 * (high & ~c["er"]) - 0.30 * (high & c["er"] & (nodes >= 4)) + 0.20 * (c["age"] > 70),
            "hormone_therapy": -0.55 * _sigmoid(3.0 * (p["luminal"] - 1.0)),
            "radio_therapy": -0.30 * ((nodes >= 1) & (c["size"] > 30)),
        }
    if scenario == "gene_driven":
        return {
            "chemotherapy": 0.15 - 0.90 * _sigmoid(2.5 * p["immune"]),
            "hormone_therapy": -0.60 * c["er"] * (1.0 - _sigmoid(3.0 * (p["proliferation"] - 0.5))),
            "radio_therapy": 0.05 - 0.45 * (p["nuisance_1"] > 0.3),
        }
    raise ValueError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")


def _cancer_model(subtype: np.ndarray, z: np.ndarray, c: dict[str, np.ndarray], *,
                  scenario: str = "guideline") -> dict[str, np.ndarray]:
    """Per-patient log scale, shape and treatment log hazard ratios of the cancer-specific hazard."""
    p = {name: z[:, i] for i, name in enumerate(PROGRAMS)}
    cd, te = GROUND_TRUTH_PARAMS["cancer_death"], GROUND_TRUTH_PARAMS["treatment_effects"]
    lp_b = cd["lp"]
    sub_eff = np.array([lp_b["subtype"][s] for s in SUBTYPES])
    lp = (
        lp_b["proliferation"] * p["proliferation"] + lp_b["log1p_nodes"] * np.log1p(c["nodes"])
        + lp_b["log_size_over_22"] * np.log(c["size"] / 22.0) + lp_b["grade_minus_2"] * (c["grade"] - 2)
        + np.where(c["er"], lp_b["immune_if_er_positive"], lp_b["immune_if_er_negative"]) * p["immune"]
        + lp_b["stromal"] * p["stromal"] + lp_b["age_under_40"] * (c["age"] < 40) + sub_eff[subtype]
    )
    scale = np.where(c["er"], cd["scale"]["Positive"], cd["scale"]["Negative"])
    shape = np.where(c["er"], cd["shape"]["Positive"], cd["shape"]["Negative"])
    h = te["hormone_therapy"]
    luminal = np.isin(subtype, [SUBTYPES.index("LumA"), SUBTYPES.index("LumB")])
    hormone = np.where(
        c["er"],
        -(h["base"] + h["luminal_subtype"] * luminal + h["luminal_score"] * np.clip(p["luminal"], 0.0, 2.0)),
        0.0,
    )
    ch = te["chemotherapy"]
    ch_sub = np.array([ch["subtype"][s] for s in SUBTYPES])
    chemo = np.minimum(
        0.0,
        ch_sub[subtype] + ch["proliferation"] * np.clip(p["proliferation"], -1.0, 2.0) + ch["er_negative"] * ~c["er"],
    )
    r = te["radio_therapy"]
    radio = r["base"] + r["node_positive"] * (c["nodes"] > 0)
    effects = _scenario_effects(
        scenario, {"chemotherapy": chemo, "hormone_therapy": hormone, "radio_therapy": radio}, p, c)
    return {
        "cancer_log_scale": np.log(scale) + lp,
        "cancer_shape": shape,
        **{f"loghr_{t}": np.broadcast_to(np.asarray(effects[t], dtype=float), lp.shape).copy() for t in TREATMENTS},
    }


def _other_cause_log_h0(age: np.ndarray) -> np.ndarray:
    oc = GROUND_TRUTH_PARAMS["other_cause_death"]
    return oc["log_h70"] + oc["slope"] * (age - 70.0)


_REGIMEN_MASKS: dict[str, np.ndarray] = {
    r: np.array([t in r.split("+") for t in TREATMENTS], dtype=float) for r in REGIMENS
}


def _regimen_mask(regimen: str | Sequence[str], n: int) -> np.ndarray:
    """(n, len(TREATMENTS)) 0/1 matrix of the treatments in ``regimen`` (one name, or one per patient)."""
    names = [regimen] if isinstance(regimen, str) else list(regimen)
    unknown = sorted(set(names) - set(REGIMENS))
    if unknown:
        raise ValueError(f"Unknown regimen {unknown[0]!r}; expected one of {', '.join(REGIMENS)}.")
    if isinstance(regimen, str):
        return np.broadcast_to(_REGIMEN_MASKS[regimen], (n, len(TREATMENTS)))
    if len(names) != n:
        raise ValueError(f"Got {len(names)} regimens for {n} patients.")
    return np.array([_REGIMEN_MASKS[r] for r in names]).reshape(n, len(TREATMENTS))


def _cum_hazards(
    latent: pd.DataFrame | dict[str, np.ndarray], months: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cancer-specific and other-cause cumulative hazards, shape (n, len(months))."""
    slope = GROUND_TRUTH_PARAMS["other_cause_death"]["slope"]
    loghr = np.column_stack([np.asarray(latent[f"loghr_{t}"], dtype=float) for t in TREATMENTS])
    log_scale = np.asarray(latent["cancer_log_scale"], dtype=float) + (mask * loghr).sum(axis=1)
    shape = np.asarray(latent["cancer_shape"], dtype=float)
    t = np.asarray(months, dtype=float)[None, :]
    h_c = np.exp(log_scale)[:, None] * (t / 120.0) ** shape[:, None]
    h_o = np.exp(np.asarray(latent["other_cause_log_h0"], dtype=float))[:, None] / slope * np.expm1(slope * t / 12.0)
    return h_c, h_o


def true_survival(
    adata: ad.AnnData,
    *,
    months: float | Sequence[float] | np.ndarray,
    regimen: str | Sequence[str],
    cancer_specific: bool = False,
) -> np.ndarray:
    """True survival probability of each demo patient under ``regimen`` (analytic, from the simulation).

    Parameters
    ----------
    adata
        A demo cohort from :func:`make_demo_cohort` (reads ``obsm["true_latent"]``); any row subset works.
    months
        One horizon (returns shape ``(n_obs,)``) or several (returns ``(n_obs, len(months))``), in months.
    regimen
        A name from :data:`REGIMENS` for every patient, or one name per patient (e.g. :func:`regimen_of`).
    cancer_specific
        Cancer-specific (net) survival ``exp(-H_c)`` instead of all-cause ``exp(-H_c - H_o)``.
    """
    if "true_latent" not in adata.obsm:
        raise ValueError("This AnnData has no simulation ground truth (obsm['true_latent']).")
    t = np.atleast_1d(np.asarray(months, dtype=float))
    if t.ndim != 1 or np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("months must be finite and >= 0.")
    h_c, h_o = _cum_hazards(adata.obsm["true_latent"], t, _regimen_mask(regimen, adata.n_obs))
    surv = np.exp(-h_c) if cancer_specific else np.exp(-(h_c + h_o))
    return surv[:, 0] if np.ndim(months) == 0 else surv


def regimen_of(obs: pd.DataFrame, treatments: tuple[str, ...] = TREATMENTS) -> pd.Series:
    """The regimen each row received: the treatment columns equal to 1 joined by "+", or "none"."""
    from genomics.regimens import regimen_labels

    return regimen_labels(obs, tuple(treatments))


def _expression(rng: np.random.Generator, z: np.ndarray, base: np.ndarray, sd: np.ndarray, loadings: np.ndarray,
                chunk: int = 8192) -> np.ndarray:
    n, g = z.shape[0], base.shape[0]
    x = np.empty((n, g), dtype=np.float32)
    base32, sd32, load32 = base.astype(np.float32), sd.astype(np.float32), loadings.astype(np.float32)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = rng.standard_normal((stop - start, g), dtype=np.float32)
        block *= sd32
        block += base32
        block += z[start:stop].astype(np.float32) @ load32
        np.clip(block, 2.0, 15.0, out=block)
        x[start:stop] = block
    return x


def make_demo_cohort(*, n_patients: int = 1500, n_genes: int = 1000, seed: int = 0,
                     scenario: str = "guideline") -> ad.AnnData:
    """Simulate the demo cohort: patients x genes log2 expression with clinical, treatment and outcome columns.

    Parameters
    ----------
    n_patients
        Number of patients (1 or more; 100,000+ is fine, memory is about the size of X).
    n_genes
        Number of genes, between ``MIN_GENES`` (all marker genes) and ``MAX_GENES``.
    seed
        Everything is a deterministic function of the seed (and the sizes). Clinical, treatment and outcome
        columns do not depend on ``n_genes``.
    scenario
        How treatments act (:data:`SCENARIOS`; the treatment-effect benchmark uses all of them). The default
        ``"guideline"`` is the demo cohort; ``"confounded"`` adds an unmeasured frailty that drives both the
        cancer hazard and the chance of chemotherapy (recorded only in ``obsm["true_latent"]["hidden_confounder"]``).

    Returns
    -------
    AnnData with ``X`` (float32), ``obs`` (clinical, treatments, latent ``subtype``, outcomes),
    ``obsm["true_survival"]`` and ``obsm["true_latent"]`` (ground truth) and ``uns["oncotx"]``.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, int | np.integer) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, not {n_patients!r}.")
    if isinstance(n_genes, bool) or not isinstance(n_genes, int | np.integer) or not MIN_GENES <= n_genes <= MAX_GENES:
        raise ValueError(f"n_genes must be an integer between {MIN_GENES} and {MAX_GENES}, not {n_genes!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}.")
    if scenario not in SCENARIOS:
        raise ValueError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")
    n, n_genes = int(n_patients), int(n_genes)
    streams = np.random.SeedSequence([int(seed), 0x0C07]).spawn(7)  # the 7th (hidden confounder) leaves 1-6 as they were
    rng_genes, rng_latent, rng_clin, rng_treat, rng_surv, rng_expr, rng_hidden = (
        np.random.default_rng(s) for s in streams)

    base, sd, loadings = _gene_parameters(rng_genes)
    subtype, z = _programs(rng_latent, n)
    c = _clinical(rng_clin, subtype, z)

    # Treatment: confounded by indication (and, in the "confounded" scenario, by an unmeasured frailty).
    hidden = rng_hidden.standard_normal(n) if scenario == "confounded" else np.zeros(n)
    probs = _treatment_probabilities(c)
    if scenario == "confounded":
        logit = np.log(probs["chemotherapy"]) - np.log1p(-probs["chemotherapy"])
        probs["chemotherapy"] = _sigmoid(logit + HIDDEN_CONFOUNDER["chemotherapy_logit"] * hidden)
    chemo = rng_treat.random(n) < probs["chemotherapy"]
    hormone = rng_treat.random(n) < probs["hormone_therapy"]
    radio_coef = GROUND_TRUTH_PARAMS["treatment_assignment"]["radio_therapy"]["chemotherapy"]
    p_radio_given_chemo = _sigmoid(probs["radio_lp"] + radio_coef * chemo)
    radio = rng_treat.random(n) < p_radio_given_chemo
    p_radio = (probs["chemotherapy"] * _sigmoid(probs["radio_lp"] + radio_coef)
               + (1 - probs["chemotherapy"]) * _sigmoid(probs["radio_lp"]))

    # Survival: competing risks with latent times.
    cm = _cancer_model(subtype, z, c, scenario=scenario)
    cm["cancer_log_scale"] = cm["cancer_log_scale"] + HIDDEN_CONFOUNDER["cancer_log_hazard"] * hidden
    latent: dict[str, np.ndarray] = {**cm, "other_cause_log_h0": _other_cause_log_h0(c["age"])}
    slope = GROUND_TRUTH_PARAMS["other_cause_death"]["slope"]
    received = (
        chemo * cm["loghr_chemotherapy"] + hormone * cm["loghr_hormone_therapy"] + radio * cm["loghr_radio_therapy"]
    )
    a_c = np.exp(cm["cancer_log_scale"] + received)  # H_c(t) = a_c * (t/120)^shape
    e_c, e_o, e_r = rng_surv.standard_exponential((3, n))
    t_cancer = 120.0 * (e_c / a_c) ** (1.0 / cm["cancer_shape"])
    t_other = 12.0 * np.log1p(e_o * slope / np.exp(latent["other_cause_log_h0"])) / slope
    rec = GROUND_TRUTH_PARAMS["recurrence"]
    t_rec_fatal = t_cancer * rng_surv.beta(*rec["beta"], n)
    t_rec_other = 120.0 * (e_r / (rec["non_fatal_fraction"] * a_c)) ** (1.0 / cm["cancer_shape"])
    t_rec = np.minimum(t_rec_fatal, t_rec_other)
    cens = GROUND_TRUTH_PARAMS["censoring"]
    c_admin = rng_surv.uniform(*cens["administrative_range"], n)
    c_random = rng_surv.exponential(1.0 / cens["random_rate"], n)
    censor = np.minimum(c_admin, c_random)
    t_death = np.minimum(t_cancer, t_other)
    os_event = t_death <= censor
    os_months = np.maximum(np.round(np.minimum(t_death, censor), 2), 0.01)
    dss_event = os_event & (t_cancer <= t_other)
    rfs_event = t_rec <= np.minimum(t_death, censor)
    rfs_months = np.minimum(np.maximum(np.round(np.minimum(t_rec, np.minimum(t_death, censor)), 2), 0.01), os_months)

    width = max(5, len(str(n)))
    ids = pd.Index([f"DEMO-{i:0{width}d}" for i in range(1, n + 1)])
    pos_neg = ["Positive", "Negative"]
    obs = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "age_at_diagnosis": c["age"],
            "tumor_size_mm": c["size"],
            "grade": c["grade"].astype(np.int64),
            "lymph_nodes_positive": c["nodes"],
            "er_status": pd.Categorical(np.where(c["er"], "Positive", "Negative"), categories=pos_neg),
            "pr_status": pd.Categorical(np.where(c["pr"], "Positive", "Negative"), categories=pos_neg),
            "her2_status": pd.Categorical(np.where(c["her2"], "Positive", "Negative"), categories=pos_neg),
            "menopausal_state": pd.Categorical(np.where(c["post"], "Post", "Pre"), categories=["Pre", "Post"]),
            "chemotherapy": chemo.astype(np.int64),
            "hormone_therapy": hormone.astype(np.int64),
            "radio_therapy": radio.astype(np.int64),
            "subtype": pd.Categorical(np.asarray(SUBTYPES)[subtype], categories=list(SUBTYPES)),
            "os_months": os_months,
            "os_event": os_event.astype(np.int64),
            "dss_event": dss_event.astype(np.int64),
            "rfs_months": rfs_months,
            "rfs_event": rfs_event.astype(np.int64),
        },
        index=ids,
    )

    true_latent = pd.DataFrame(z, index=ids, columns=list(PROGRAMS))
    for key, values in latent.items():
        true_latent[key] = values
    true_latent["hidden_confounder"] = hidden
    true_latent["p_chemotherapy"] = probs["chemotherapy"]
    true_latent["p_hormone_therapy"] = probs["hormone_therapy"]
    true_latent["p_radio_therapy"] = p_radio
    for r in REGIMENS:  # P(regimen | x) = P(chemo) P(hormone) P(radio | chemo)
        c_on, h_on, r_on = _REGIMEN_MASKS[r].astype(bool)
        p_c = probs["chemotherapy"] if c_on else 1 - probs["chemotherapy"]
        p_h = probs["hormone_therapy"] if h_on else 1 - probs["hormone_therapy"]
        p_rad = _sigmoid(probs["radio_lp"] + radio_coef * c_on)
        true_latent[f"propensity_{r}"] = p_c * p_h * (p_rad if r_on else 1 - p_rad)

    surv: dict[str, np.ndarray] = {}
    horizons = np.asarray(HORIZONS_MONTHS, dtype=float)
    for r in REGIMENS:
        h_c, h_o = _cum_hazards(latent, horizons, _regimen_mask(r, n))
        for j, h in enumerate(HORIZONS_MONTHS):
            surv[f"S{h}_{r}"] = np.exp(-(h_c[:, j] + h_o[:, j]))
            surv[f"CSS{h}_{r}"] = np.exp(-h_c[:, j])
    order = [f"{prefix}{h}_{r}" for prefix in ("S", "CSS") for h in HORIZONS_MONTHS for r in REGIMENS]
    true_surv = pd.DataFrame(surv, index=ids)[order]

    x = _expression(rng_expr, z, base[:n_genes], sd[:n_genes], loadings[:, :n_genes])
    var = pd.DataFrame({"program_group": list(_GENE_GROUPS[:n_genes])}, index=pd.Index(ALL_GENES[:n_genes]))
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.obsm["true_survival"] = true_surv
    adata.obsm["true_latent"] = true_latent
    adata.uns["oncotx"] = {
        "synthetic": True,
        "cohort": DEMO_COHORT_ID,
        "seed": int(seed),
        "scenario": scenario,
        "generator_version": GENERATOR_VERSION,
        "scale": "log",
        "platform": "synthetic log2 microarray-like",
        "n_patients": n,
        "n_genes": n_genes,
        "spec": demo_spec().to_json(),
        "source_sha256": f"demo-generator-{GENERATOR_VERSION}-seed{int(seed)}-n{n}-g{n_genes}"
        + ("" if scenario == "guideline" else f"-{scenario}"),
        "ground_truth": {
            **copy.deepcopy(GROUND_TRUTH_PARAMS),
            "programs": list(PROGRAMS),
            "subtypes_order": list(SUBTYPES),
            "treatments": list(TREATMENTS),
            "regimens": list(REGIMENS),
            "horizons_months": list(HORIZONS_MONTHS),
            "obsm": {
                "true_survival": "analytic S/CSS at each horizon under each regimen",
                "true_latent": "program scores, cancer_log_scale, cancer_shape, loghr_<treatment>, "
                "other_cause_log_h0 (log per-year hazard at diagnosis), p_<treatment> (true marginal propensity of "
                "each treatment), propensity_<regimen> (true probability of receiving each regimen)",
            },
        },
    }
    log.info("Generated demo cohort: %d patients x %d genes (seed %d)", n, n_genes, seed)
    return adata
