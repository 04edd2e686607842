"""DNS for the ``resolvers`` sections: message encoding and decoding (message.py) and the
resolution state machine (resolution.py). Pure: no socket, no clock."""
