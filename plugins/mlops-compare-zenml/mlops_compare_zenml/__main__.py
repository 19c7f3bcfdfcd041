from mlops_compare_zenml import ZenmlRunner

raise SystemExit(ZenmlRunner.main())
