// Domain configuration model.
