"""Inputs are named by their labels where a business user reads them, with the code name
beside where a data scientist looks it up."""


def test_the_model_card_interface_names_inputs_by_label_with_the_code_name_beside(
    client, viewer, clinic_version
):
    client.force_login(viewer)
    page = client.get("/models/clinic/").content.decode()
    table = page[page.index("<h2>Interface</h2>") :]
    assert '<strong>BMI</strong><br><code class="small">bmi</code>' in table
    assert '<strong>S5</strong><br><code class="small">s5</code>' in table
