"""Published breast-cancer gene panels by current HGNC symbol: the PAM50 genes and the Oncotype DX genes.

Used by the signatures (:mod:`genomics.signatures`) and by the synthetic demo cohort (:mod:`genomics.demo`).
"""
from __future__ import annotations

#: The 50 PAM50 genes by current HGNC symbol (the centroid values themselves are read from the data folder).
PAM50_GENES: tuple[str, ...] = tuple("""
ACTR3B ANLN BAG1 BCL2 BIRC5 BLVRA CCNB1 CCNE1 CDC20 CDC6 NUF2 CDH3 CENPF CEP55 CXXC5 EGFR ERBB2 ESR1
EXO1 FGFR4 FOXA1 FOXC1 GPR160 GRB7 KIF2C NDC80 KRT14 KRT17 KRT5 MAPT MDM2 MELK MIA MKI67 MLPH MMP11
MYBL2 MYC NAT1 ORC6 PGR PHGDH PTTG1 RRM2 SFRP1 SLC39A6 TMEM45B TYMS UBE2C UBE2T
""".split())
#: Oncotype DX 21 genes: 16 cancer genes, then the 5 reference genes (CTSL2 is CTSV today).
ONCOTYPE_GENES: tuple[str, ...] = tuple("""
MKI67 AURKA BIRC5 CCNB1 MYBL2 MMP11 CTSV GRB7 ERBB2 ESR1 PGR BCL2 SCUBE2 GSTM1 CD68 BAG1
ACTB GAPDH RPLP0 GUSB TFRC
""".split())
#: The Oncotype DX reference (housekeeping) genes.
ONCOTYPE_REFERENCE_GENES: tuple[str, ...] = ("ACTB", "GAPDH", "RPLP0", "GUSB", "TFRC")
