"""Honours (推优评优, 品牌提升行动): award rounds, candidates and nominations, and the open
risk alerts mirrored from inspection that keep an enterprise out of them (联合惩戒)."""
