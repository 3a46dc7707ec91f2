"""The shop's order desk: database models, migrations, seeding and the business rules (service layer)."""
