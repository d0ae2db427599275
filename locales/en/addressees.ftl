field-addressees-unknown_role = Choose the report's recipient or the programme's owner.
field-addressees-taken = There is already an entry for this from that day.
error-addressee_taken = There is already an entry for this from that day.
