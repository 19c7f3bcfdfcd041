"""ElasticNet on the exam data as a Metaflow flow, as Metaflow's docs teach it.

Parameters hold the grid, a foreach runs one train task per point, and artifacts (self.x)
keep the metrics, the model and, through IncludeFile, the data set with every run.

    python flow.py run --alphas '[0.0, 0.5, 1.0]' --l1_ratios '[0.0, 0.5, 1.0]'
"""

import warnings

from common import DATA_FILE, eval_metrics, load_exam, load_split
from metaflow import FlowSpec, IncludeFile, JSONType, Parameter, step


class TrainFlow(FlowSpec):
    alphas = Parameter("alphas", type=JSONType, default="[0.5]", help="JSON list of alpha values")
    l1_ratios = Parameter("l1_ratios", type=JSONType, default="[0.5]", help="JSON list of l1_ratio values")
    model_type = Parameter("model_type", default="ElasticNet", help="ElasticNet or DecisionTreeRegressor")
    data = IncludeFile("data", default=DATA_FILE, is_text=False, help="the data set, stored with the run")

    @step
    def start(self):
        self.points = [(alpha, l1_ratio) for alpha in self.alphas for l1_ratio in self.l1_ratios]
        self.next(self.train, foreach="points")

    @step
    def train(self):
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        warnings.filterwarnings("ignore")
        self.alpha, self.l1_ratio = self.input
        train_x, test_x, train_y, test_y = load_split()

        if self.model_type == "DecisionTreeRegressor":
            model = DecisionTreeRegressor(random_state=load_exam()["random_state"])
        else:
            model = ElasticNet(alpha=self.alpha, l1_ratio=self.l1_ratio, random_state=load_exam()["random_state"])
        model.fit(train_x, train_y)

        self.metrics = eval_metrics(test_y, model.predict(test_x))
        self.model = model
        print(f"{self.model_type}(alpha={self.alpha:g}, l1_ratio={self.l1_ratio:g}): {self.metrics}")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.results = {(i.alpha, i.l1_ratio): i.metrics for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TrainFlow()
