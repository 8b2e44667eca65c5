"""Explanations of trained models: Captum attributions, AU-localisation scores, faithfulness curves."""
