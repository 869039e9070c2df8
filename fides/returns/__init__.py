"""Insurance returns and the control flows that change dossier states (DESIGN.md §5-§7).

Pure parts (no database, no disk) come first and are tested alone:
  * `noemie_parse`  NOEMIE 930 / 908 / 578 content -> lot acknowledgements and invoice returns;
  * `rules`         what a return or a control line does to a dossier in a given state.
Database effects, one module per flow, registered in `fides.flows.REGISTRY`:
  * `noemie`        NOEMIE (by name prefix or by content);
  * `control`       NOEMIEARLNEGATIF, MANAGEREJECT, CANCELPAIDREQUEST;
  * `state_request` STATEREQUEST (and `fides state`);
  * `extract_epmsi` EXTRACTEPMSI (and `fides extract-epmsi`, and the monthly job).
Their SQL is in `queries`; `lots` holds the lot acknowledgement shared by 930 and NOEMIEARLNEGATIF.
"""
