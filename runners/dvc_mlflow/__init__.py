"""The DVC + MLflow runner: the exam as a DVC pipeline whose training stage logs to MLflow.

The combination the DVC community suggested in answer to the study (MLflow for tracking and
its UI, DVC for data and pipeline versioning), measured as a candidate of its own. The
workspace is a git + DVC repository as for the DVC runner, with MLflow's SQLite store beside
it; ``example/dvc_mlflow/train.py`` is the DVC example's stage plus MLflow's logging calls.

Each check is answered by the tool that owns it, reusing that tool's runner code, and says
so: the evidence starts with the tool's name and the numbers carry ``answered_by``.

=================  ==========  ===========================================================
check              answered by how
=================  ==========  ===========================================================
setup              both        git + DVC repository (DVC's setup), then MLflow's store
grid               DVC         ``dvc exp run --queue`` + ``dvc queue start``; each stage
                               also logs an MLflow run
retrieve           both        MLflow's runs through ``mlflow server``, checked against
                               ``dvc exp show``; baseline_match compares MLflow's numbers
models             MLflow      ``mlflow.sklearn.log_model`` / ``pyfunc.load_model``
data_versioning    DVC         ``dvc add``, ``git checkout`` + ``dvc checkout``
reproduce          DVC         ``dvc exp apply`` + ``dvc repro --force``
fan_out, failure   DVC         DVC's queue with 1 and 2 workers; failed experiments and
                               the run cache
ui                 MLflow      the tracking UI of ``mlflow server``
share              both        git + DVC remotes, and a shared ``mlflow server``
languages          DVC         shell and notebook stages in a DVC pipeline
license            both        both tools' licences and their dependencies'
remote_storage,    DVC         data and pipeline outputs through DVC remotes and DVC's
large_data, hpc                cache; the stage's command through ``srun``
=================  ==========  ===========================================================

``baseline_match``, ``invasiveness``, ``overhead`` and ``cost`` are the shared checks
(``overhead``'s disk is both stores).
"""

from mlops_compare.runners.dvc_mlflow.runner import DvcMlflowRunner

__all__ = ["DvcMlflowRunner"]
