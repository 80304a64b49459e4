module kube-apisim

go 1.19
