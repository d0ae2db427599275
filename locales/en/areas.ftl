field-areas-invalid_code = Use 1 to 20 letters, digits, ".", "-" or "_" (the national code, such as 16681).
field-areas-duplicate_code = An area with this code already exists.
field-areas-unknown_kind = Choose a kind: province, city, town, district, commune or ward.
field-areas-unknown_parent = No area has this code.
field-areas-unknown_predecessor = Each predecessor must be another existing area.
field-areas-cycle = An area cannot lie inside itself or one of its own units.
field-areas-ends_before_start = The last day comes before the first day.
