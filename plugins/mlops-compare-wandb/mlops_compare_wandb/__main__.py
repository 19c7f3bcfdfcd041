from mlops_compare_wandb import WandbRunner

raise SystemExit(WandbRunner.main())
