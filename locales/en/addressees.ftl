field-addressees-unknown_role = Choose the report's recipient or the programme's owner.
field-addressees-taken = There is already an entry for this from that day.
error-addressee_taken = There is already an entry for this from that day.
field-addressees-one_line = Write the name on one line, without tabs or line breaks.
