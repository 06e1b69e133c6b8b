def init_parsing_model(model_name=None, device="cpu", **kwargs):
    return None
